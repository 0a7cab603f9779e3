/// An error that knows the status a client should see for it (as grpc-swift-2's
/// `RPCErrorConvertible`): the server's one error boundary asks it, so a backend's own errors
/// (a Kubernetes `Status`, say) convert themselves instead of being mapped call by call.
public protocol RPCErrorConvertible: Error {
  /// The status and message the client gets.
  var rpcError: RPCError { get }
}

extension RPCError {
  /// The status `error` stands for: itself, its own conversion, or `nil` for an error that does
  /// not say (the boundary makes that a bare `INTERNAL` and logs the details).
  public init?(converting error: any Error) {
    switch error {
    case let error as RPCError: self = error
    case let error as any RPCErrorConvertible: self = error.rpcError
    default: return nil
    }
  }
}
