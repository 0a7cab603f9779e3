import AgentCubeCore
import Foundation
import Synchronization
import Testing

@testable import AgentCubeKubernetes

/// The review cache with a clock the test moves and reviews the test answers.
@Suite struct TokenReviewCacheTests {
  /// Wall time the test sets.
  final class ManualClock: Sendable {
    private let seconds = Mutex(1_800_000_000.0)
    var clock: TokenReviewCache.Clock { TokenReviewCache.Clock { self.seconds.withLock { $0 } } }
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
  }

  /// Counts the reviews it answers.
  final class Reviewer: Sendable {
    private let count = Atomic(0)
    var reviews: Int { count.load(ordering: .relaxed) }
    func answer(_ outcome: Result<Identity, RPCError>) -> @Sendable () async throws -> Identity {
      { self.count.add(1, ordering: .relaxed); return try outcome.get() }
    }
  }

  let alice = try! Identity(username: "system:serviceaccount:team-a:alice", uid: "uid-a", groups: ["system:serviceaccounts"])

  func cache(_ clock: ManualClock, capacity: Int = 100) -> TokenReviewCache {
    var configuration = TokenReviewCache.Configuration()
    configuration.capacity = capacity
    return TokenReviewCache(configuration: configuration, clock: clock.clock)
  }

  /// A JWT-shaped token whose payload says `exp` (the signature is nonsense: nothing checks it here).
  static func jwt(exp: Double) -> String {
    let payload = Data("{\"iss\":\"kubernetes/serviceaccount\",\"exp\":\(Int(exp))}".utf8).base64EncodedString()
      .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    return "eyJhbGciOiJSUzI1NiJ9.\(payload).c2lnbmF0dXJl"
  }

  @Test func anIdentityIsKeptForTheSuccessLifetimeAndNotExtendedByUse() async throws {
    let clock = ManualClock()
    let cache = cache(clock)
    let reviewer = Reviewer()
    let token = BearerToken("opaque-token")
    #expect(try await cache.identity(for: token, review: reviewer.answer(.success(alice))) == alice)
    clock.advance(29)
    #expect(try await cache.identity(for: token, review: reviewer.answer(.success(alice))) == alice)
    #expect(reviewer.reviews == 1)
    clock.advance(1.5)  // 30.5 s after the review; the use at 29 s did not extend it
    #expect(try await cache.identity(for: token, review: reviewer.answer(.success(alice))) == alice)
    #expect(reviewer.reviews == 2)
    #expect(cache.statistics == .init(hits: 1, misses: 2, reviews: 2, coalescedWaits: 0, evictions: 0))
  }

  @Test func unauthenticatedIsKeptForTheFailureLifetimeOtherFailuresNever() async throws {
    let clock = ManualClock()
    let cache = cache(clock)
    let reviewer = Reviewer()
    let bad = BearerToken("bad-token")
    for _ in 0..<3 {
      let error = try await #require(throws: RPCError.self) {
        try await cache.identity(for: bad, review: reviewer.answer(.failure(.unauthenticated("token is not valid"))))
      }
      #expect(error.code == .unauthenticated)
    }
    #expect(reviewer.reviews == 1)
    clock.advance(5.1)
    _ = try? await cache.identity(for: bad, review: reviewer.answer(.failure(.unauthenticated("token is not valid"))))
    #expect(reviewer.reviews == 2)

    let other = BearerToken("token-while-the-api-is-down")
    for _ in 0..<3 {
      let error = try await #require(throws: RPCError.self) {
        try await cache.identity(for: other, review: reviewer.answer(.failure(.unavailable("TokenReview failed: 503"))))
      }
      #expect(error.code == .unavailable)
    }
    #expect(reviewer.reviews == 5, "UNAVAILABLE is never kept")
    // Once the API answers again, the token works at once.
    #expect(try await cache.identity(for: other, review: reviewer.answer(.success(alice))) == alice)
  }

  @Test func anIdentityNeverOutlivesTheTokensExp() async throws {
    let clock = ManualClock()
    let cache = cache(clock)
    let reviewer = Reviewer()
    let soon = BearerToken(Self.jwt(exp: clock.now + 10))
    _ = try await cache.identity(for: soon, review: reviewer.answer(.success(alice)))
    clock.advance(9)
    _ = try await cache.identity(for: soon, review: reviewer.answer(.success(alice)))
    #expect(reviewer.reviews == 1)
    clock.advance(2)  // past exp, well within the 30 s lifetime
    _ = try await cache.identity(for: soon, review: reviewer.answer(.success(alice)))
    #expect(reviewer.reviews == 2)

    // Already expired by its claim: an identity the authority still gives is not kept at all.
    let expired = BearerToken(Self.jwt(exp: clock.now - 1))
    _ = try await cache.identity(for: expired, review: reviewer.answer(.success(alice)))
    _ = try await cache.identity(for: expired, review: reviewer.answer(.success(alice)))
    #expect(reviewer.reviews == 4)
  }

  @Test func theLeastRecentlyUsedAnswerGoesFirst() async throws {
    let clock = ManualClock()
    let cache = cache(clock, capacity: 3)
    let reviewer = Reviewer()
    for name in ["a", "b", "c"] { _ = try await cache.identity(for: BearerToken(name), review: reviewer.answer(.success(alice))) }
    _ = try await cache.identity(for: BearerToken("a"), review: reviewer.answer(.success(alice)))  // a is now the newest
    _ = try await cache.identity(for: BearerToken("d"), review: reviewer.answer(.success(alice)))  // evicts b
    #expect(cache.count == 3 && cache.statistics.evictions == 1)
    #expect(reviewer.reviews == 4)
    for name in ["a", "c", "d"] { _ = try await cache.identity(for: BearerToken(name), review: reviewer.answer(.success(alice))) }
    #expect(reviewer.reviews == 4, "a, c and d are still kept")
    _ = try await cache.identity(for: BearerToken("b"), review: reviewer.answer(.success(alice)))
    #expect(reviewer.reviews == 5, "b was evicted")
  }

  /// A review that waits until the test opens it.
  final class Gate: Sendable {
    let opened: AsyncStream<Void>
    let continuation: AsyncStream<Void>.Continuation
    init() { (opened, continuation) = AsyncStream.makeStream() }
    func open() { continuation.finish() }
    func wait() async { for await _ in opened {} }
  }

  @Test(arguments: [false, true])
  func concurrentFirstUsesShareOneReview(cancelHalf: Bool) async throws {
    let clock = ManualClock()
    let cache = cache(clock)
    let reviewer = Reviewer()
    let gate = Gate()
    let token = BearerToken(Self.jwt(exp: clock.now + 3600))
    let alice = alice
    let review: @Sendable () async throws -> Identity = {
      await gate.wait()
      return try await reviewer.answer(.success(alice))()
    }
    let uses = (0..<1000).map { _ in Task { try await cache.identity(for: token, review: review) } }
    try await waitUntil("all 1,000 uses wait") { cache.statistics.misses == 1000 }
    #expect(cache.statistics.reviews == 1 && cache.statistics.coalescedWaits == 999)
    if cancelHalf {
      for (index, use) in uses.enumerated() where index % 2 == 0 { use.cancel() }
      // The cancelled ones leave at once, while the review still waits.
      for (index, use) in uses.enumerated() where index % 2 == 0 {
        await #expect(throws: CancellationError.self) { try await use.value }
      }
    }
    gate.open()
    for (index, use) in uses.enumerated() where !cancelHalf || index % 2 == 1 {
      #expect(try await use.value == alice)
    }
    #expect(reviewer.reviews == 1)
    // And the answer is kept for the next use.
    #expect(try await cache.identity(for: token, review: reviewer.answer(.success(alice))) == alice)
    #expect(reviewer.reviews == 1)
  }

  @Test func jwtExpiryIsReadOnlyFromJWTShapedTokens() {
    #expect(JWTExpiry.of(Self.jwt(exp: 1_900_000_000)) == 1_900_000_000)
    #expect(JWTExpiry.of("opaque-token") == nil)
    #expect(JWTExpiry.of("a.b.c") == nil)
    #expect(JWTExpiry.of("a.\(Data("{\"sub\":\"x\"}".utf8).base64EncodedString()).c") == nil)
  }

  struct NotReached: Error, CustomStringConvertible { var description: String }

  /// Polls `condition` (cheap, in memory) until it holds, for at most 20 s.
  func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
      guard ContinuousClock.now < deadline else { throw NotReached(description: "\(what): not within 20 s") }
      await Task.yield()
    }
  }
}
