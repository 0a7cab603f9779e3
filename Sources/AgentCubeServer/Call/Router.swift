public import AgentCubeCore
public import AgentCubeProtobuf
public import AgentCubeTransport
public import Logging

/// Maps method names to handlers wrapped in their interceptor chains, and turns every outcome
/// into a status: the one place where thrown errors become what the client sees.
public struct Router: ServerCallDispatcher {
  /// A handler wrapped in its interceptors.
  typealias Chain = @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse

  private struct Route: Sendable {
    var method: MethodDescriptor
    var chain: Chain
  }

  private var routes: [String: Route] = [:]
  private var tunnelMethods: Set<String> = []
  private let rules: [InterceptorRule]
  private let logger: Logger

  /// Creates a router whose routes get the interceptors of `rules` that apply to them, in order
  /// (the first rule is the outermost).
  public init(rules: [InterceptorRule], logger: Logger) {
    self.rules = rules
    self.logger = logger
  }

  /// Registers a typed unary handler for `method`.
  public mutating func register<Request: ProtobufCodable, Response: ProtobufCodable>(
    _ method: MethodDescriptor, opensTunnel: Bool = false,
    handler: @escaping @Sendable (Request, ServerContext) async throws -> (Response, tunnelTarget: TunnelTarget?)
  ) {
    let typed: Chain = { request, context in
      let message = try Request(protobuf: request.message)
      let (response, target) = try await handler(message, context)
      return ServerResponse(message: try response.protobufBytes(), tunnelTarget: target)
    }
    let interceptors = rules.filter { $0.applies(to: method) }.map(\.interceptor)
    let chain = interceptors.reversed().reduce(typed) { next, interceptor in
      { request, context in try await interceptor.intercept(request: request, context: context, next: next) }
    }
    routes[method.fullName] = Route(method: method, chain: chain)
    if opensTunnel { tunnelMethods.insert(method.fullName) }
  }

  /// Registers a typed unary handler for `method`.
  public mutating func register<Request: ProtobufCodable, Response: ProtobufCodable>(
    _ method: MethodDescriptor, handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
  ) {
    register(method, opensTunnel: false) { (request: Request, context) in (try await handler(request, context), nil) }
  }

  public func isTunnel(method: String) -> Bool { tunnelMethods.contains(method) }

  public func dispatch(_ call: IncomingCall) async -> CallOutcome {
    guard let route = routes[call.method] else {
      return .response(WireResponse(code: .unimplemented, statusMessage: "unknown method '\(call.method.prefix(200))'"))
    }
    var context = ServerContext(
      method: route.method, callID: call.callID, peer: call.peer, deadline: call.deadline, eventLoop: call.eventLoop)
    context.peerCredentials = call.peerCredentials
    context.tlsClientSubject = call.tlsClientSubject
    do {
      let response = try await route.chain(ServerRequest(metadata: call.metadata, message: call.message), context)
      let wire = WireResponse(code: .ok, message: response.message, trailers: response.trailers)
      if let target = response.tunnelTarget { return .tunnel(wire, target: target) }
      return .response(wire)
    } catch {
      let status = Self.status(for: error, deadline: call.deadline, logger: logger, method: route.method, callID: call.callID)
      return .response(WireResponse(code: status.code, statusMessage: status.message, details: status.details))
    }
  }

  /// Maps any error to the status the client sees. Unknown errors become a bare `INTERNAL`; their
  /// details go to the log only.
  static func status(
    for error: any Error, deadline: ContinuousClock.Instant?, logger: Logger, method: MethodDescriptor, callID: UInt32
  ) -> RPCError {
    if let status = RPCError(converting: error) { return status }
    switch error {
    case is CancellationError:
      if let deadline, deadline <= .now { return RPCError(code: .deadlineExceeded, message: "deadline exceeded") }
      return RPCError(code: .cancelled, message: "call cancelled")
    default:
      logger.error(
        "unexpected error in handler",
        metadata: ["rpc.method": "\(method)", "rpc.call_id": "\(callID)", "error": "\(String(reflecting: error))"])
      return .internal("internal error")
    }
  }
}
