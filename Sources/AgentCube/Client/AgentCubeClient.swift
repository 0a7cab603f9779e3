import AgentCubeProtobuf
import AgentCubeTransport
import NIOCore
import NIOPosix

/// A client of an AgentCube server: one connection multiplexing concurrent calls, re-established
/// when it closes, with the caller's bearer token on every call.
///
/// ```swift
/// let client = AgentCubeClient(target: .unixSocket(path: "/run/agentcube/agentcube.sock"), token: .file(tokenPath))
/// let created = try await client.sessions.createSession(.init(sshPublicKey: key))
/// ```
public final class AgentCubeClient: Sendable {
  /// Client options.
  public struct Configuration: Sendable {
    /// Timeout of calls without one of their own, except CreateSession. Default 30 s.
    public var defaultTimeout: Duration
    /// Timeout of CreateSession calls without one of their own: it waits for the sandbox to serve,
    /// which the server bounds by its start timeout (60 s by default). Default 120 s.
    public var createSessionTimeout: Duration
    /// How long connecting may take. Default 5 s.
    public var connectTimeout: Duration
    /// Largest frame accepted from the server. Default 4 MiB.
    public var maxFrameSize: Int
    /// How a `tls://` server is checked, and the client certificate for mutual TLS. Default: the
    /// system's trust roots, no client certificate.
    public var tls = ClientTLSConfiguration()

    /// The defaults above.
    public static var defaults: Self {
      Self(defaultTimeout: .seconds(30), createSessionTimeout: .seconds(120), connectTimeout: .seconds(5), maxFrameSize: 4 << 20)
    }

    public init(defaultTimeout: Duration, createSessionTimeout: Duration, connectTimeout: Duration, maxFrameSize: Int) {
      self.defaultTimeout = defaultTimeout
      self.createSessionTimeout = createSessionTimeout
      self.connectTimeout = connectTimeout
      self.maxFrameSize = maxFrameSize
    }
  }

  /// Where the server is.
  public let target: ConnectionTarget
  let configuration: Configuration
  let tokenSource: TokenSource
  let connections: ConnectionManager

  /// Creates a client; it connects on the first call.
  public init(
    target: ConnectionTarget, token: TokenSource, configuration: Configuration = .defaults,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) {
    self.target = target
    self.configuration = configuration
    self.tokenSource = token
    self.connections = ConnectionManager(
      target: target,
      configuration: .init(
        maxFrameSize: configuration.maxFrameSize, connectTimeout: configuration.connectTimeout, tls: configuration.tls),
      group: group)
  }

  /// The session service.
  public var sessions: SessionServiceClient { SessionServiceClient(client: self) }
  /// The health service.
  public var health: HealthClient { HealthClient(client: self) }

  /// Closes the connection; calls in flight fail with `UNAVAILABLE`.
  public func close() async { await connections.close() }

  /// Runs one unary call.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` with the server's status, or the client's own
  ///   (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, `CANCELLED`).
  public func unary<Request: ProtobufCodable, Response: ProtobufCodable>(
    _ method: MethodDescriptor, _ request: Request, options: CallOptions = .defaults
  ) async throws -> Response {
    let wire = try makeWireRequest(method, request, options: options)
    let deadline = ContinuousClock.now + (options.timeout ?? defaultTimeout(of: method))
    let connection = try await connections.connection()
    let response = try await connection.unary(wire, deadline: deadline)
    guard response.code == .ok else {
      throw RPCError(code: response.code, message: response.statusMessage, details: response.details)
    }
    return try Response(protobuf: response.message)
  }

  func defaultTimeout(of method: MethodDescriptor) -> Duration {
    method == MethodDescriptor.SessionService.createSession ? configuration.createSessionTimeout : configuration.defaultTimeout
  }

  func makeWireRequest(_ method: MethodDescriptor, _ request: some ProtobufCodable, options: CallOptions) throws -> WireRequest {
    var metadata = options.metadata
    if let token = try tokenSource.currentToken() {
      metadata.replace(Metadata.authorizationKey, with: "Bearer \(token)")
    }
    return WireRequest(method: method.fullName, metadata: metadata, message: try request.protobufBytes())
  }
}
