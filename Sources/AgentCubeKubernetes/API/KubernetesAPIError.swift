public import AgentCubeCore

/// A Kubernetes API request that failed: what the API server answered (its HTTP status and the
/// `Status` reason), or that no answer came. It converts itself to the status a client sees
/// (``KubernetesStatus/rpcError(httpStatus:body:retryAfterSeconds:)``: 403 is `PERMISSION_DENIED`
/// with Kubernetes' own message, and so on), so code can decide on the HTTP status (a 404 on a
/// delete is done) while the server's one error boundary still gets the right status.
public struct KubernetesAPIError: Error, RPCErrorConvertible, CustomStringConvertible, Sendable {
  /// The HTTP status answered; `nil` when no answer came (unreachable, timed out, TLS).
  public var httpStatus: Int?
  /// The `Status` object's `reason` (`NotFound`, `AlreadyExists`, `Conflict`, `Expired`, …), if any.
  public var reason: String?
  public var rpcError: RPCError

  public init(httpStatus: Int?, reason: String?, rpcError: RPCError) {
    self.httpStatus = httpStatus
    self.reason = reason
    self.rpcError = rpcError
  }

  /// An answer with `httpStatus` and `body`, mapped as `kubernetes-api.md` lists.
  static func answered(_ httpStatus: Int, body: KubernetesStatus?, retryAfterSeconds: Int?) -> Self {
    Self(
      httpStatus: httpStatus, reason: body?.reason,
      rpcError: KubernetesStatus.rpcError(httpStatus: httpStatus, body: body, retryAfterSeconds: retryAfterSeconds))
  }

  /// No answer from `server`: `UNAVAILABLE`.
  static func unreachable(_ server: String, _ error: HTTPTransferError) -> Self {
    Self(
      httpStatus: nil, reason: nil, rpcError: .unavailable("Kubernetes API \(server) unreachable: \(error.description)"))
  }

  public var description: String { rpcError.message }
}
