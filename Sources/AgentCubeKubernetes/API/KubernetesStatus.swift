public import AgentCubeCore

/// Kubernetes' `Status` object, the body of every failed request.
public struct KubernetesStatus: Codable, Sendable, Equatable {
  public var kind: String?
  public var status: String?
  public var message: String?
  public var reason: String?
  public var code: Int?

  /// The status code a call answers with for this HTTP `status`, keeping Kubernetes' message
  /// (for 403 it names the verb, resource and user).
  public static func rpcError(httpStatus: Int, body: KubernetesStatus?, retryAfterSeconds: Int?) -> RPCError {
    let message = body?.message.map { String($0.prefix(1024)) } ?? "HTTP \(httpStatus)"
    let code: StatusCode =
      switch httpStatus {
      case 400, 422: .invalidArgument
      case 401: .unauthenticated
      case 403: .permissionDenied
      case 404: .notFound
      case 409: body?.reason == "AlreadyExists" ? .alreadyExists : .aborted
      case 429, 500...599: .unavailable
      default: .unknown
      }
    var details: [(String, String)] = []
    if let retryAfterSeconds { details.append(("retry-after-ms", "\(retryAfterSeconds * 1000)")) }
    return RPCError(code: code, message: "Kubernetes API: \(message)", details: details.map { .init(type: $0.0, value: $0.1) })
  }
}
