public import AgentCubeCore

/// Authenticates bearer tokens with the Kubernetes TokenReview API, asking with the server's own
/// credentials, through a ``TokenReviewCache``.
///
/// `authenticated: true` for a `system:serviceaccount:<namespace>:<name>` user is that identity
/// (uid and groups kept); `authenticated: false`, or any other user, is `UNAUTHENTICATED`. The API
/// unreachable, slow past its timeout, 5xx, 429, or 403 for the server's own account is
/// `UNAVAILABLE` (never "bad token") and never cached.
public struct TokenReviewAuthenticator: Authenticator {
  public let api: KubernetesAPI
  public let audiences: [String]
  public let cache: TokenReviewCache

  public init(api: KubernetesAPI, audiences: [String] = [], cache: TokenReviewCache = TokenReviewCache()) {
    self.api = api
    self.audiences = audiences
    self.cache = cache
  }

  public func authenticate(_ token: BearerToken) async throws -> Identity {
    try await cache.identity(for: token) { [api, audiences] in
      let request = TokenReview(spec: .init(token: token.secret, audiences: audiences.isEmpty ? nil : audiences))
      let review: TokenReview
      do {
        review = try await api.send(
          "POST", "/apis/authentication.k8s.io/v1/tokenreviews", body: request, idempotent: true, as: TokenReview.self)
      } catch let error as KubernetesAPIError {
        // The server's own account cannot review (401/403) or the API failed: not the caller's fault.
        throw RPCError.unavailable("cannot check the token with TokenReview: \(error.rpcError.message)")
      }
      guard let status = review.status, status.authenticated == true, let username = status.user?.username else {
        throw RPCError.unauthenticated("the token is not valid (TokenReview)")
      }
      return try Identity(username: username, uid: status.user?.uid ?? "", groups: status.user?.groups ?? [])
    }
  }
}
