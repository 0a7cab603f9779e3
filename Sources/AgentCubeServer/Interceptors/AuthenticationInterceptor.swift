import AgentCubeCore

/// Turns the `authorization: Bearer <token>` metadata into the caller's identity.
///
/// Missing, malformed or unknown tokens, and users that are not service accounts, end the call
/// with `UNAUTHENTICATED`. Register it for every method but Health.
public struct AuthenticationInterceptor: ServerInterceptor {
  private let authenticator: any Authenticator

  public init(authenticator: any Authenticator) { self.authenticator = authenticator }

  public func intercept(request: ServerRequest, context: ServerContext, next: Next) async throws -> ServerResponse {
    let values = request.metadata.filter { $0.key == Metadata.authorizationKey }
    guard let value = values.first?.value else {
      throw RPCError.unauthenticated("missing 'authorization' metadata (Bearer token)")
    }
    // Two credentials (a proxy adding one, say) would make "which one counts" a guess.
    guard values.count == 1 else { throw RPCError.unauthenticated("more than one 'authorization' metadata entry") }
    let token = try BearerToken(authorizationValue: value)
    let identity = try await authenticator.authenticate(token)
    context.callRecord?.identity = identity
    var context = context
    context.caller = Caller(identity: identity, token: token)
    return try await next(request, context)
  }
}
