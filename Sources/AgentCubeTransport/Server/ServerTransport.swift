import AgentCubeCore
public import Logging
public import NIOCore
import NIOPosix
import Synchronization

/// Accepts connections on a Unix socket and/or TCP and runs the AgentCube protocol on them.
public final class ServerTransport: Sendable {
  /// Where and how to listen.
  public struct Configuration: Sendable {
    /// Unix socket path, or `nil` for none. Created with mode 0660; a stale socket is replaced.
    public var unixSocketPath: String?
    /// TCP host and port, or `nil` for none. Port 0 picks a free port.
    public var tcp: (host: String, port: Int)?
    /// Per-connection limits.
    public var connection: ServerConnectionConfiguration
    /// How long shutdown waits for calls in flight before closing connections. Default 10 s.
    public var drainGrace: Duration

    /// No listeners, default limits and drain grace.
    public static var defaults: Self {
      Self(unixSocketPath: nil, tcp: nil, connection: .defaults, drainGrace: .seconds(10))
    }

    public init(
      unixSocketPath: String?, tcp: (host: String, port: Int)?, connection: ServerConnectionConfiguration,
      drainGrace: Duration
    ) {
      self.unixSocketPath = unixSocketPath
      self.tcp = tcp
      self.connection = connection
      self.drainGrace = drainGrace
    }
  }

  /// The addresses actually bound (TCP port resolved when 0 was asked for).
  public struct BoundAddresses: Sendable {
    public var unixSocketPath: String?
    public var tcpPort: Int?
  }

  private struct State {
    var listeners: [any Channel] = []
    var connections: [ObjectIdentifier: any Channel] = [:]
    var draining = false
  }

  private let configuration: Configuration
  private let dispatcher: any ServerCallDispatcher
  private let group: any EventLoopGroup
  private let logger: Logger
  private let state = Mutex(State())

  /// Creates a transport; nothing is bound until ``start()``.
  public init(
    configuration: Configuration, dispatcher: any ServerCallDispatcher, group: any EventLoopGroup, logger: Logger
  ) {
    self.configuration = configuration
    self.dispatcher = dispatcher
    self.group = group
    self.logger = logger
  }

  /// Binds every configured listener.
  public func start() async throws -> BoundAddresses {
    var bound = BoundAddresses()
    if let path = configuration.unixSocketPath {
      do {
        try UnixSocketFile.prepare(path: path)
      } catch {
        throw RPCError.failedPrecondition(error.description)
      }
      let channel = try await bootstrap().bind(unixDomainSocketPath: path).get()
      try UnixSocketFile.restrictPermissions(path: path)
      register(listener: channel)
      bound.unixSocketPath = path
    }
    if let tcp = configuration.tcp {
      let channel = try await bootstrap().bind(host: tcp.host, port: tcp.port).get()
      register(listener: channel)
      bound.tcpPort = channel.localAddress?.port
    }
    return bound
  }

  /// Number of open client connections (tunnels included).
  public var connectionCount: Int { state.withLock { $0.connections.count } }

  /// Stops accepting, asks every connection to finish its calls (GOAWAY), waits up to the drain
  /// grace, then closes what is left.
  public func shutdown() async {
    let (listeners, connections) = state.withLock { state in
      state.draining = true
      return (state.listeners, Array(state.connections.values))
    }
    for listener in listeners { try? await listener.close() }
    for connection in connections {
      connection.pipeline.fireUserInboundEventTriggered(ServerConnectionHandler.DrainEvent())
    }
    let allClosed = EventLoopFuture.andAllComplete(connections.map { $0.closeFuture }, on: group.any())
    let grace = configuration.drainGrace
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await allClosed.get() }
      group.addTask { try? await Task.sleep(for: grace) }
      _ = await group.next()
      group.cancelAll()
      // Past the grace, whatever is still open is closed; its calls are cancelled.
      for connection in connections where connection.isActive { connection.close(promise: nil) }
    }
    if let path = configuration.unixSocketPath { _ = path.withCString { unlinkSocket($0) } }
  }

  private func bootstrap() -> ServerBootstrap {
    let connectionConfiguration = configuration.connection
    let dispatcher = dispatcher
    let logger = logger
    return ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .childChannelInitializer { [weak self] channel in
        channel.eventLoop.makeCompletedFuture {
          if let self, self.track(channel) == false {
            channel.close(promise: nil)
            return
          }
          let handler = ServerConnectionHandler(
            configuration: connectionConfiguration, dispatcher: dispatcher, logger: logger)
          try channel.pipeline.syncOperations.addHandler(handler)
        }
      }
  }

  private func register(listener: any Channel) {
    state.withLock { $0.listeners.append(listener) }
  }

  /// Remembers an accepted connection until it closes; refuses it while draining.
  private func track(_ channel: any Channel) -> Bool {
    let id = ObjectIdentifier(channel)
    let accepted = state.withLock { state in
      guard !state.draining else { return false }
      state.connections[id] = channel
      return true
    }
    if accepted {
      channel.closeFuture.whenComplete { [weak self] _ in
        _ = self?.state.withLock { $0.connections.removeValue(forKey: id) }
      }
    }
    return accepted
  }
}

extension Duration {
  /// The duration in nanoseconds, saturating at `Int64.max`.
  package var nanosecondsClamped: Int64 {
    let (seconds, attoseconds) = components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    return overflow ? .max : scaled.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue
  }
}

#if canImport(Glibc)
import Glibc
private func unlinkSocket(_ path: UnsafePointer<CChar>) -> Int32 { Glibc.unlink(path) }
#endif
