public import AgentCubeCore
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One client connection to an AgentCube server, multiplexing any number of concurrent calls.
///
/// ```swift
/// let connection = try await ClientConnection.connect(to: .unixSocket(path: "/run/agentcube.sock"))
/// let response = try await connection.unary(WireRequest(method: "/agentcube.v1.Health/Check"))
/// ```
public final class ClientConnection: Sendable {
  /// Connection options.
  public struct Configuration: Sendable {
    /// Largest frame accepted from the server. Default 4 MiB.
    public var maxFrameSize: Int
    /// How long connecting may take, the TLS handshake included. Default 5 s.
    public var connectTimeout: Duration
    /// How a `tls://` target is checked (and, for mutual TLS, the client's certificate). Default:
    /// the system's trust roots, no client certificate.
    public var tls: ClientTLSConfiguration

    /// The defaults above.
    public static var defaults: Self { Self(maxFrameSize: Frame.defaultMaxFrameSize, connectTimeout: .seconds(5)) }

    public init(maxFrameSize: Int, connectTimeout: Duration, tls: ClientTLSConfiguration = .init()) {
      self.maxFrameSize = maxFrameSize
      self.connectTimeout = connectTimeout
      self.tls = tls
    }
  }

  /// The underlying channel (for a tunnel, after its OpenTunnel call).
  public let channel: any Channel
  private let handler: NIOLoopBound<ClientConnectionHandler>
  private let nextCallID = Atomic<UInt32>(0)
  private let flags: ClientConnectionFlags

  private init(channel: any Channel, handler: NIOLoopBound<ClientConnectionHandler>, flags: ClientConnectionFlags) {
    self.channel = channel
    self.handler = handler
    self.flags = flags
  }

  /// Connects and sends the preface; calls may start at once.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `UNAVAILABLE` when the server cannot be reached.
  public static func connect(
    to target: ConnectionTarget, configuration: Configuration = .defaults,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) async throws -> ClientConnection {
    let flags = ClientConnectionFlags()
    let tls: (context: NIOSSLContext, serverHostname: String?)?
    if case .tls(let host, _) = target.kind {
      do {
        tls = (try configuration.tls.makeContext(), ClientTLSConfiguration.isIPAddress(host) ? nil : host)
      } catch {
        throw RPCError.invalidArgument("cannot connect to \(target): \(error.description)")
      }
    } else {
      tls = nil
    }
    let eventLoop = group.next()
    let handshake = tls.map { _ in eventLoop.makePromise(of: Void.self) }
    let bootstrap = ClientBootstrap(group: eventLoop)
      .connectTimeout(.nanoseconds(configuration.connectTimeout.nanosecondsClamped))
      // A tunnel's peer may finish its side and still read. Not under TLS: NIOSSL then never ends
      // its own close (it ignores the server's close_notify and waits out its 5 s shutdown timeout).
      .channelOption(.allowRemoteHalfClosure, value: tls == nil)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          let pipeline = channel.pipeline.syncOperations
          if let tls, let done = handshake {
            try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
            try pipeline.addHandler(TLSHandshakeObserver(done: done))
          }
          try pipeline.addHandler(ClientConnectionHandler(maxFrameSize: configuration.maxFrameSize, flags: flags))
        }
      }
    let started = ContinuousClock.now
    let channel: any Channel
    do {
      switch target.kind {
      case .unixSocket(let path): channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
      case .tcp(let host, let port), .tls(let host, let port):
        channel = try await bootstrap.connect(host: host, port: port).get()
      }
      if let handshake {
        let remaining = configuration.connectTimeout - (ContinuousClock.now - started)
        let timeout = channel.eventLoop.scheduleTask(in: .nanoseconds(max(0, remaining.nanosecondsClamped))) {
          channel.pipeline.fireErrorCaught(ChannelError.connectTimeout(.nanoseconds(configuration.connectTimeout.nanosecondsClamped)))
        }
        defer { timeout.cancel() }
        do {
          try await handshake.futureResult.get()
        } catch {
          channel.close(promise: nil)
          throw error
        }
      }
    } catch {
      throw RPCError.unavailable("cannot connect to \(target): \(ConnectionErrorText.describe(error))")
    }
    let handler: NIOLoopBound<ClientConnectionHandler>
    do {
      handler = try await channel.eventLoop.submit {
        NIOLoopBound(try channel.pipeline.syncOperations.handler(type: ClientConnectionHandler.self), eventLoop: channel.eventLoop)
      }.get()
    } catch {
      // The connection closed as soon as it opened (its pipeline is gone).
      throw RPCError.unavailable("cannot connect to \(target): connection closed")
    }
    return ClientConnection(channel: channel, handler: handler, flags: flags)
  }

  /// Whether new calls may start here (open, no GOAWAY received, not a tunnel). Cheap: no hop.
  public var isUsable: Bool {
    channel.isActive && flags.acceptsCalls.load(ordering: .relaxed)
  }

  /// Runs one unary call and returns the server's RESPONSE, whatever its status.
  ///
  /// - Parameter deadline: also sent to the server as a relative timeout.
  /// - Throws: ``AgentCubeCore/RPCError`` for failures of the call itself: `UNAVAILABLE` when the
  ///   connection fails, `DEADLINE_EXCEEDED`, `CANCELLED` when the task is cancelled.
  public func unary(_ request: WireRequest, deadline: ContinuousClock.Instant? = nil) async throws -> WireResponse {
    try await call(request, deadline: deadline, isTunnel: false)
  }

  /// Sends an OpenTunnel call; on an OK answer the connection carries raw bytes from then on.
  ///
  /// On OK, `upgrade` runs on the channel's event loop with the channel (this connection's handler
  /// already removed) and the bytes that arrived after the answer, which the upgrade must deliver
  /// first; nothing can arrive in between.
  /// - Returns: the RESPONSE, and `upgrade`'s result when it was OK.
  public func openTunnel<Upgraded: Sendable>(
    _ request: WireRequest, deadline: ContinuousClock.Instant? = nil,
    upgrade: @escaping @Sendable (any Channel, ByteBuffer?) throws -> Upgraded
  ) async throws -> (WireResponse, Upgraded?) {
    let response = try await call(request, deadline: deadline, isTunnel: true)
    guard response.code == .ok else {
      await close()
      return (response, nil)
    }
    let handler = handler
    let channel = channel
    let upgraded = try await channel.eventLoop.submit {
      let leftover = handler.value.tunnelLeftover
      channel.pipeline.syncOperations.removeHandler(handler.value, promise: nil)
      return try upgrade(channel, leftover)
    }.get()
    return (response, upgraded)
  }

  /// Closes the connection; calls in flight fail with `UNAVAILABLE`.
  public func close() async {
    try? await channel.close()
  }

  private func call(_ request: WireRequest, deadline: ContinuousClock.Instant?, isTunnel: Bool) async throws -> WireResponse {
    var request = request
    var nioDeadline: NIODeadline?
    if let deadline {
      let remaining = ContinuousClock.now.duration(to: deadline)
      guard remaining > .zero else { throw RPCError(code: .deadlineExceeded, message: "deadline exceeded") }
      let nanos = remaining.nanosecondsClamped
      request.timeoutMicros = UInt64(max(1, nanos / 1000))
      nioDeadline = .now() + .nanoseconds(nanos)
    }
    let callID = nextCallID.add(1, ordering: .relaxed).newValue
    let handler = handler
    let finalRequest = request
    let finalDeadline = nioDeadline
    let eventLoop = channel.eventLoop
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        eventLoop.execute {
          handler.value.start(callID: callID, request: finalRequest, deadline: finalDeadline, isTunnel: isTunnel, continuation: continuation)
        }
      }
    } onCancel: {
      eventLoop.execute { handler.value.cancel(callID: callID) }
    }
  }
}
