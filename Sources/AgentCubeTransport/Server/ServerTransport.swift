import AgentCubeCore
public import Logging
public import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Accepts connections on a Unix socket and/or TCP and runs the AgentCube protocol on them.
public final class ServerTransport: Sendable {
  /// Where and how to listen.
  public struct Configuration: Sendable {
    /// Unix socket path, or `nil` for none. A stale socket is replaced.
    public var unixSocketPath: String?
    /// The Unix socket's permission bits. Default 0660 (its owner and group).
    public var unixSocketMode: UInt32 = 0o660
    /// The Unix socket's owner and group (`nil`: the server's).
    public var unixSocketOwner: UInt32?
    public var unixSocketGroup: UInt32?
    /// TCP host and port, or `nil` for none. Port 0 picks a free port.
    public var tcp: (host: String, port: Int)?
    /// TLS on the TCP listener, or `nil` for plain TCP.
    public var tls: ServerTLSConfiguration?
    /// Per-connection limits.
    public var connection: ServerConnectionConfiguration
    /// How long shutdown waits for calls in flight before closing connections. Default 10 s.
    public var drainGrace: Duration
    /// Open connections (tunnels included) at most; one more gets GOAWAY `RESOURCE_EXHAUSTED` and
    /// is closed. Default 8,192.
    public var maxConnections = 8192
    /// Open connections from one peer at most (one uid on the Unix socket, one IP address on TCP).
    /// Default 2,048.
    public var maxConnectionsPerPeer = 2048

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
    var perPeer: [String: Int] = [:]
    var draining = false
  }

  private enum Admission {
    case accepted
    case draining
    case refused(String)
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
      let channel = try await bootstrap(tls: nil).bind(unixDomainSocketPath: path).get()
      do {
        try UnixSocketFile.setOwnership(
          path: path, mode: configuration.unixSocketMode, owner: configuration.unixSocketOwner,
          group: configuration.unixSocketGroup)
      } catch {
        try? await channel.close()
        throw RPCError.failedPrecondition(error.description)
      }
      register(listener: channel)
      bound.unixSocketPath = path
    }
    if let tcp = configuration.tcp {
      var tls: ReloadingServerTLSContext?
      if let tlsConfiguration = configuration.tls {
        do {
          tls = try ReloadingServerTLSContext(configuration: tlsConfiguration, logger: logger)
        } catch {
          throw RPCError.failedPrecondition(error.description)
        }
      }
      let channel = try await bootstrap(tls: tls).bind(host: tcp.host, port: tcp.port).get()
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

  /// A listener's bootstrap; with `tls`, each connection starts with a TLS handshake (its bytes,
  /// the preface included, count against the preface timeout).
  private func bootstrap(tls: ReloadingServerTLSContext?) -> ServerBootstrap {
    let connectionConfiguration = configuration.connection
    let dispatcher = dispatcher
    let logger = logger
    return ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .childChannelInitializer { [weak self] channel in
        PeerIdentity.of(channel).flatMapThrowing { peer in
          if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current())) }
          switch self?.admit(channel, peer: peer) ?? .draining {
          case .draining:
            channel.close(promise: nil)
          case .refused(let reason):
            logger.warning("connection refused", metadata: ["peer": "\(peer.description)", "reason": "\(reason)"])
            try channel.pipeline.syncOperations.addHandler(ConnectionRefusal(reason: reason))
          case .accepted:
            let handler = ServerConnectionHandler(
              configuration: connectionConfiguration, dispatcher: dispatcher, peer: peer, logger: logger)
            try channel.pipeline.syncOperations.addHandler(handler)
          }
        }
      }
  }

  private func register(listener: any Channel) {
    state.withLock { $0.listeners.append(listener) }
  }

  /// Remembers an accepted connection until it closes; refuses it while draining or over a limit.
  private func admit(_ channel: any Channel, peer: PeerIdentity) -> Admission {
    let id = ObjectIdentifier(channel)
    let (maxTotal, maxPerPeer) = (configuration.maxConnections, configuration.maxConnectionsPerPeer)
    let admission = state.withLock { state -> Admission in
      guard !state.draining else { return .draining }
      guard state.connections.count < maxTotal else {
        return .refused("too many connections (the server's limit is \(maxTotal)); retry later")
      }
      guard state.perPeer[peer.limitKey, default: 0] < maxPerPeer else {
        return .refused("too many connections from \(peer.limitKey) (limit \(maxPerPeer)); close some or retry later")
      }
      state.connections[id] = channel
      state.perPeer[peer.limitKey, default: 0] += 1
      return .accepted
    }
    if case .accepted = admission {
      channel.closeFuture.whenComplete { [weak self] _ in
        self?.state.withLock { state in
          state.connections.removeValue(forKey: id)
          let left = state.perPeer[peer.limitKey, default: 1] - 1
          state.perPeer[peer.limitKey] = left > 0 ? left : nil
        }
      }
    }
    return admission
  }
}


#if canImport(Glibc)
import Glibc
private func unlinkSocket(_ path: UnsafePointer<CChar>) -> Int32 { Glibc.unlink(path) }
#endif
