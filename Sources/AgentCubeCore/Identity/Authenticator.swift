/// Checks a bearer token and says who presented it.
///
/// Implementations: the server's token-file authenticator for the embedded default; TokenReview
/// for Kubernetes.
public protocol Authenticator: Sendable {
  /// The identity of `token`'s owner.
  ///
  /// - Throws: ``RPCError`` `UNAUTHENTICATED` for unknown tokens and users that are
  ///   not service accounts; `UNAVAILABLE` when the authority cannot be asked.
  func authenticate(_ token: BearerToken) async throws -> Identity
}
