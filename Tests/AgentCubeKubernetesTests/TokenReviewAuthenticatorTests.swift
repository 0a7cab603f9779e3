import AgentCubeCore
import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Synchronization
import Testing

@testable import AgentCubeKubernetes

/// TokenReview authentication through the real libcurl client over HTTPS, against the emulator.
@Suite(.timeLimit(.minutes(10)))
struct TokenReviewAuthenticatorTests {
  static let reviewer = TokenRecord(
    token: "reviewer-secret-0001", user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-r"),
    permissions: [.createTokenReviews])
  static let powerless = TokenRecord(
    token: "powerless-secret-0002", user: .serviceAccount(namespace: "ns", name: "p", uid: "uid-p"))
  static let agent = TokenRecord(
    token: "agent-secret-0003", user: .serviceAccount(namespace: "team-a", name: "agent", uid: "uid-agent"),
    audiences: ["agentcube"])
  static let human = TokenRecord(
    token: "human-secret-0004", user: EmulatedUser(username: "jane@example.com", uid: "uid-j", groups: ["devs"]))
  static let expired = TokenRecord(
    token: "expired-secret-0005", user: .serviceAccount(namespace: "team-a", name: "old", uid: "uid-o"), expired: true)

  /// Wall time the test moves (for the cache's lifetimes).
  final class ManualClock: Sendable {
    private let seconds = Mutex(1_800_000_000.0)
    var clock: TokenReviewCache.Clock { TokenReviewCache.Clock { self.seconds.withLock { $0 } } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
    var now: Double { seconds.withLock { $0 } }
  }

  struct Fixture {
    let emulator: KubernetesEmulator
    let api: KubernetesAPI
    let clock = ManualClock()

    func authenticator(reviewerToken: String = reviewer.token, audiences: [String] = ["agentcube"]) -> TokenReviewAuthenticator {
      var api = api.acting(as: reviewerToken)
      api.initialBackoff = .milliseconds(10)
      return TokenReviewAuthenticator(api: api, audiences: audiences, cache: TokenReviewCache(clock: clock.clock))
    }
  }

  static func with(_ body: (Fixture) async throws -> Void) async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("cluster-ca")
    let server = try await certificates.issueLoopbackServer("apiserver", signedBy: ca)
    let emulator = try await KubernetesEmulator.start(
      EmulatorConfiguration(
        certificatePath: server.certificate, privateKeyPath: server.key,
        tokens: [reviewer, powerless, agent, human, expired]))
    let http = CurlHTTPClient()
    let tls = TLSCredentials(certificateAuthority: Array(try Data(contentsOf: URL(fileURLWithPath: ca.certificate))))
    let api = KubernetesAPI(server: emulator.url, tls: tls, token: { nil }, http: http)
    do {
      try await body(Fixture(emulator: emulator, api: api))
    } catch {
      http.shutdown()
      await emulator.stop()
      throw error
    }
    http.shutdown()
    await emulator.stop()
  }

  @Test func aServiceAccountTokenIsItsIdentityAndIsReviewedOnce() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      let identity = try await authenticator.authenticate(BearerToken(Self.agent.token))
      #expect(identity.username == "system:serviceaccount:team-a:agent" && identity.uid == "uid-agent")
      #expect(identity.groups.contains("system:serviceaccounts:team-a"))
      _ = try await authenticator.authenticate(BearerToken(Self.agent.token))
      #expect(f.emulator.count(of: .tokenReviews) == 1)
    }
  }

  @Test func unknownExpiredHumanAndWrongAudienceTokensAreUnauthenticated() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      for token in ["no-such-token", Self.expired.token, Self.human.token] {
        let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken(token)) }
        #expect(error.code == .unauthenticated, "\(error)")
        #expect(!error.message.contains(token))
      }
      let otherAudience = f.authenticator(audiences: ["someone-else"])
      let error = try await #require(throws: RPCError.self) { try await otherAudience.authenticate(BearerToken(Self.agent.token)) }
      #expect(error.code == .unauthenticated)
    }
  }

  @Test func aTokenRevokedAtRuntimeStopsWorkingWhenItsLifetimeEnds() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      _ = try await authenticator.authenticate(BearerToken(Self.agent.token))
      f.emulator.tokens.revoke(Self.agent.token)
      _ = try await authenticator.authenticate(BearerToken(Self.agent.token))  // still within 30 s
      f.clock.advance(31)
      let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken(Self.agent.token)) }
      #expect(error.code == .unauthenticated)
      #expect(f.emulator.count(of: .tokenReviews) == 2)
    }
  }

  @Test func aJWTIsNeverServedFromTheCacheAfterItsExp() async throws {
    try await Self.with { f in
      // Valid at the API server for now; its exp is 10 s away, well inside the 30 s success lifetime.
      let jwt = TokenReviewCacheTests.jwt(exp: f.clock.now + 10)
      f.emulator.tokens.add(
        TokenRecord(token: jwt, user: .serviceAccount(namespace: "team-a", name: "short", uid: "uid-s"), audiences: ["agentcube"]))
      let authenticator = f.authenticator()
      #expect(try await authenticator.authenticate(BearerToken(jwt)).username == "system:serviceaccount:team-a:short")
      f.emulator.tokens.expire(jwt)  // the API server's view from its exp on
      f.clock.advance(9)
      _ = try await authenticator.authenticate(BearerToken(jwt))  // before exp: the cached answer
      #expect(f.emulator.count(of: .tokenReviews) == 1)
      f.clock.advance(1)
      let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken(jwt)) }
      #expect(error.code == .unauthenticated)
      #expect(f.emulator.count(of: .tokenReviews) == 2, "at exp the token is reviewed again")
    }
  }

  @Test(arguments: [false, true])
  func aThousandConcurrentFirstUsesMakeOneReview(cancelHalf: Bool) async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      // The review waits long enough for every use to join it (and half of them to leave).
      f.emulator.inject(.delay(.milliseconds(500)), on: .route(.tokenReviews), times: 1)
      let uses = (0..<1000).map { _ in Task { try await authenticator.authenticate(BearerToken(Self.agent.token)) } }
      if cancelHalf { for (index, use) in uses.enumerated() where index % 2 == 0 { use.cancel() } }
      var served = 0
      for (index, use) in uses.enumerated() {
        if cancelHalf && index % 2 == 0 {
          _ = try? await use.value
        } else {
          let identity = try await use.value
          #expect(identity.username == "system:serviceaccount:team-a:agent")
          served += 1
        }
      }
      #expect(served == (cancelHalf ? 500 : 1000))
      #expect(f.emulator.count(of: .tokenReviews) == 1)
    }
  }

  @Test func theAPIDownIsUnavailableNeverCachedAndRecoversWithoutARestart() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      await f.emulator.refuseConnections()
      let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken(Self.agent.token)) }
      #expect(error.code == .unavailable, "\(error)")
      try await f.emulator.acceptConnections()
      #expect(try await authenticator.authenticate(BearerToken(Self.agent.token)).uid == "uid-agent")
    }
  }

  @Test func a500IsRetriedAndPersistentOnesAreUnavailable() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      f.emulator.inject(.status(500), on: .route(.tokenReviews), times: 2)
      #expect(try await authenticator.authenticate(BearerToken(Self.agent.token)).uid == "uid-agent")
      #expect(f.emulator.count(of: .tokenReviews) == 3)

      f.emulator.resetCounters()
      f.emulator.inject(.status(500), on: .route(.tokenReviews))
      let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken("another-token")) }
      #expect(error.code == .unavailable)
      #expect(f.emulator.count(of: .tokenReviews) == 4, "maxAttempts")
    }
  }

  @Test func a429WaitsForItsRetryAfter() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      f.emulator.inject(.tooManyRequests(retryAfterSeconds: 1), on: .route(.tokenReviews), times: 1)
      let started = ContinuousClock.now
      let identity = try await authenticator.authenticate(BearerToken(Self.agent.token))
      #expect(identity.uid == "uid-agent")
      // Not before the server said (a lower bound: a busy machine can only make it later).
      #expect(ContinuousClock.now - started >= .seconds(1))
      #expect(f.emulator.count(of: .tokenReviews) == 2)
    }
  }

  @Test func aReviewerWithoutPermissionIsUnavailableNotABadToken() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator(reviewerToken: Self.powerless.token)
      let error = try await #require(throws: RPCError.self) { try await authenticator.authenticate(BearerToken(Self.agent.token)) }
      #expect(error.code == .unavailable)
      #expect(error.message.contains("cannot create resource \"tokenreviews\""), "Kubernetes' own message: \(error.message)")
      // Not cached: once allowed, the same token works.
      f.emulator.tokens.add(
        TokenRecord(token: Self.powerless.token, user: Self.powerless.user, permissions: [.createTokenReviews]))
      _ = try await authenticator.authenticate(BearerToken(Self.agent.token))
    }
  }

  @Test func requestsShareOneConnection() async throws {
    try await Self.with { f in
      let authenticator = f.authenticator()
      for index in 0..<5 { _ = try? await authenticator.authenticate(BearerToken("token-\(index)")) }
      _ = try await authenticator.authenticate(BearerToken(Self.agent.token))
      #expect(f.emulator.count(of: .tokenReviews) == 6)
      #expect(f.emulator.connectionsAccepted == 1, "keep-alive: one TLS connection for every review")
    }
  }
}
