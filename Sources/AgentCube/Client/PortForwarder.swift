public import NIOCore
import NIOPosix
import Synchronization

/// Forwards a local TCP port to a port of a session's sandbox: every accepted connection gets a
/// tunnel of its own (``SessionServiceClient/withTunnel(sessionID:port:options:_:)``), and bytes
/// are copied both ways with back-pressure and half-close.
///
/// ```swift
/// let forwarder = PortForwarder(client: client, sessionID: id, remotePort: 22)
/// try await forwarder.run(onListening: { address in print("listening on \(address)") })
/// ```
///
/// ``run(onListening:onConnectionError:)`` serves until its task is cancelled. A failure of one
/// connection (the tunnel refused, an I/O error) closes that connection only.
public struct PortForwarder: Sendable {
  /// Where to listen and how many connections to serve.
  public struct Configuration: Sendable {
    /// The local address to listen on. Default `127.0.0.1`: other machines cannot connect.
    public var host: String
    /// The local port; 0 picks a free one. Default 0.
    public var port: Int
    /// The most connections forwarded at once; further connections are closed at once. Default 64.
    public var maxConnections: Int
    /// Options of each OpenTunnel call (its timeout covers opening the tunnel, not its use).
    /// Default ``CallOptions/defaults``.
    public var tunnelOptions: CallOptions

    /// The defaults above.
    public static var defaults: Self { Self() }

    /// Creates a configuration; see each property for its default.
    public init(
      host: String = "127.0.0.1", port: Int = 0, maxConnections: Int = 64, tunnelOptions: CallOptions = .defaults
    ) {
      self.host = host
      self.port = port
      self.maxConnections = maxConnections
      self.tunnelOptions = tunnelOptions
    }
  }

  /// The client whose tunnels carry the connections.
  public let client: AgentCubeClient
  /// The session to forward to.
  public let sessionID: String
  /// The sandbox port; 0 means the session's SSH port.
  public let remotePort: UInt32
  /// Where to listen and the limits.
  public let configuration: Configuration
  private let group: any EventLoopGroup

  /// Creates a forwarder; it listens once ``run(onListening:onConnectionError:)`` is called.
  public init(
    client: AgentCubeClient, sessionID: String, remotePort: UInt32 = 0, configuration: Configuration = .defaults,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) {
    self.client = client
    self.sessionID = sessionID
    self.remotePort = remotePort
    self.configuration = configuration
    self.group = group
  }

  /// Listens, then forwards every accepted connection until the calling task is cancelled.
  ///
  /// - Parameters:
  ///   - onListening: called once with the bound local address, before any connection is served.
  ///   - onConnectionError: called when a forwarded connection fails, with the peer's address
  ///     and the error (``AgentCubeCore/RPCError`` when the tunnel was refused); the forwarder
  ///     goes on serving.
  /// - Throws: when the address cannot be bound.
  public func run(
    onListening: @Sendable (SocketAddress) -> Void = { _ in },
    onConnectionError: @escaping @Sendable (SocketAddress?, any Error) -> Void = { _, _ in }
  ) async throws {
    let listener = try await ServerBootstrap(group: group)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .bind(host: configuration.host, port: configuration.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
      }
    let active = ConnectionCount()
    try await withThrowingDiscardingTaskGroup { group in
      try await listener.executeThenClose { connections in
        // A bound server channel always has a local address; nil would mean it is already closed.
        if let address = listener.channel.localAddress { onListening(address) }
        for try await connection in connections {
          guard active.enter(limit: configuration.maxConnections) else {
            onConnectionError(
              connection.channel.remoteAddress,
              RPCError.resourceExhausted("more than \(configuration.maxConnections) forwarded connections"))
            try? await connection.channel.close()
            continue
          }
          group.addTask {
            defer { active.leave() }
            await forward(connection, onError: onConnectionError)
          }
        }
      }
    }
  }

  /// Joins one accepted connection with a new tunnel; never throws into the accept loop.
  private func forward(
    _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, onError: @Sendable (SocketAddress?, any Error) -> Void
  ) async {
    let peer = connection.channel.remoteAddress
    do {
      try await connection.executeThenClose { localInbound, localOutbound in
        try await client.sessions.withTunnel(
          sessionID: sessionID, port: remotePort, options: configuration.tunnelOptions
        ) { tunnel in
          try await ByteSplice.run(.init(connection, inbound: localInbound, outbound: localOutbound), .init(tunnel))
        }
      }
    } catch is CancellationError {
      // The forwarder is stopping.
    } catch {
      onError(peer, error)
    }
  }
}

/// How many connections a forwarder serves, shared by its accept loop and its connection tasks.
private final class ConnectionCount: Sendable {
  private let count = Atomic<Int>(0)

  /// Counts one more connection unless `limit` are already counted; returns whether it did.
  func enter(limit: Int) -> Bool {
    guard count.add(1, ordering: .relaxed).newValue <= limit else {
      count.subtract(1, ordering: .relaxed)
      return false
    }
    return true
  }

  /// Counts one connection less.
  func leave() { count.subtract(1, ordering: .relaxed) }
}

extension SocketAddress {
  /// `127.0.0.1:8022` or `[::1]:8022`, as people write addresses.
  package var hostAndPort: String {
    guard let ip = ipAddress, let port else { return description }
    if case .v6 = self { return "[\(ip)]:\(port)" }
    return "\(ip):\(port)"
  }
}
