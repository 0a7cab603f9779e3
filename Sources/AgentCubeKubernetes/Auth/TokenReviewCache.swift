public import AgentCubeCore
import AgentCubeCrypto
import Synchronization

/// Remembers TokenReview answers so that a token is reviewed once per lifetime, not once per call.
///
/// - Keys are HMAC-SHA256 of the token under a random key of this process: no raw token is a key
///   or stays in memory after its call.
/// - An identity is kept for ``Configuration/successLifetime``, an `UNAUTHENTICATED` answer for
///   ``Configuration/failureLifetime``; neither is extended by use, and an identity never outlives
///   the token's own JWT `exp` (read, not trusted: it can only shorten the lifetime). Other
///   failures (the API unreachable, 5xx, 429, …) are never kept.
/// - At most ``Configuration/capacity`` answers; the least recently used goes first.
/// - Concurrent first uses of one token wait on one review. A waiter whose task is cancelled (its
///   call cancelled or past its deadline) leaves at once; the review goes on for the others.
public final class TokenReviewCache: Sendable {
  /// Lifetimes and bound.
  public struct Configuration: Sendable {
    /// How long an identity is kept. Default 30 s.
    public var successLifetime: Duration = .seconds(30)
    /// How long an `UNAUTHENTICATED` answer is kept. Default 5 s.
    public var failureLifetime: Duration = .seconds(5)
    /// Most answers kept. Default 10,000.
    public var capacity = 10_000

    public init() {}
  }

  /// What the cache did so far.
  public struct Statistics: Sendable, Equatable {
    /// Answers served from the cache.
    public var hits = 0
    /// Uses that found no answer (each started a review or joined one).
    public var misses = 0
    /// Reviews started.
    public var reviews = 0
    /// Uses that waited on a review another use had started.
    public var coalescedWaits = 0
    /// Answers dropped to make room.
    public var evictions = 0
  }

  /// Seconds since the Unix epoch, injectable for tests.
  public struct Clock: Sendable {
    public var now: @Sendable () -> Double
    public init(now: @escaping @Sendable () -> Double) { self.now = now }
    /// The system's wall clock.
    public static var system: Self {
      Self { var time = timespec(); clock_gettime(CLOCK_REALTIME, &time); return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9 }
    }
  }

  private struct Digest: Hashable {
    var words: (UInt64, UInt64, UInt64, UInt64)
    static func == (a: Self, b: Self) -> Bool { a.words == b.words }
    func hash(into hasher: inout Hasher) {
      hasher.combine(words.0)
      hasher.combine(words.1)
      hasher.combine(words.2)
      hasher.combine(words.3)
    }
  }

  private struct Answer {
    var outcome: Result<Identity, RPCError>
    var expires: Double
  }

  private typealias Waiter = CheckedContinuation<Identity, any Error>

  private struct State {
    var answers: LRUCache<Digest, Answer>
    var reviews: [Digest: [UInt64: Waiter]] = [:]
    var statistics = Statistics()
    var nextWaiter: UInt64 = 0
  }

  private let configuration: Configuration
  private let clock: Clock
  private let mac = HMACSHA256.random()
  private let state: Mutex<State>

  public init(configuration: Configuration = .init(), clock: Clock = .system) {
    self.configuration = configuration
    self.clock = clock
    state = Mutex(State(answers: LRUCache(capacity: configuration.capacity)))
  }

  /// What the cache did so far.
  public var statistics: Statistics { state.withLock { $0.statistics } }

  /// Answers currently kept.
  public var count: Int { state.withLock { $0.answers.count } }

  /// `token`'s identity: from the cache, else from `review` (run once for every use waiting on it).
  ///
  /// - Throws: what `review` threw (`UNAUTHENTICATED` kept for the failure lifetime, anything else
  ///   not kept), or `CancellationError` when this task is cancelled while it waits.
  public func identity(
    for token: BearerToken, review: @escaping @Sendable () async throws -> Identity
  ) async throws -> Identity {
    let key = digest(of: token.secret)
    let now = clock.now()
    // The warm path: one lock, no task machinery.
    let cached: Result<Identity, RPCError>? = state.withLock { state in
      guard let answer = state.answers.value(forKey: key) else { return nil }
      guard answer.expires > now else {
        state.answers.removeValue(forKey: key)
        return nil
      }
      state.statistics.hits += 1
      return answer.outcome
    }
    if let cached { return try cached.get() }

    let waiter = state.withLock { state in
      state.nextWaiter += 1
      return state.nextWaiter
    }
    let exp = JWTExpiry.of(token.secret)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: Waiter) in
        let startReview: Bool = state.withLock { state in
          if Task.isCancelled {
            continuation.resume(throwing: CancellationError())
            return false
          }
          // An answer may have arrived since the warm path looked.
          if let answer = state.answers.value(forKey: key), answer.expires > clock.now() {
            state.statistics.hits += 1
            continuation.resume(with: answer.outcome.mapError { $0 as any Error })
            return false
          }
          state.statistics.misses += 1
          if state.reviews[key] != nil {
            state.statistics.coalescedWaits += 1
            state.reviews[key]![waiter] = continuation
            return false
          }
          state.statistics.reviews += 1
          state.reviews[key] = [waiter: continuation]
          return true
        }
        guard startReview else { return }
        // Not a child of this call: cancelling the call must not end the review for the others.
        Task {
          let outcome: Result<Identity, any Error>
          do { outcome = .success(try await review()) } catch { outcome = .failure(error) }
          self.finish(key, outcome, tokenExpiry: exp)
        }
      }
    } onCancel: {
      let removed = state.withLock { $0.reviews[key]?.removeValue(forKey: waiter) }
      removed?.resume(throwing: CancellationError())
    }
  }

  private func finish(_ key: Digest, _ outcome: Result<Identity, any Error>, tokenExpiry: Double?) {
    let now = clock.now()
    let waiters: [Waiter] = state.withLock { state in
      let waiters = state.reviews.removeValue(forKey: key).map { Array($0.values) } ?? []
      var answer: Answer?
      switch outcome {
      case .success(let identity):
        let expires = min(now + Self.seconds(configuration.successLifetime), tokenExpiry ?? .infinity)
        if expires > now { answer = Answer(outcome: .success(identity), expires: expires) }
      case .failure(let error as RPCError) where error.code == .unauthenticated:
        answer = Answer(outcome: .failure(error), expires: now + Self.seconds(configuration.failureLifetime))
      case .failure:
        break  // The authority could not answer: ask again next time.
      }
      if let answer, state.answers.set(answer, forKey: key) { state.statistics.evictions += 1 }
      return waiters
    }
    for waiter in waiters { waiter.resume(with: outcome) }
  }

  private func digest(of token: String) -> Digest {
    var token = token
    return token.withUTF8 { utf8 in
      withUnsafeTemporaryAllocation(byteCount: 32, alignment: 8) { raw in
        mac.authenticate(UnsafeRawBufferPointer(utf8), into: raw)
        return Digest(
          words: (
            raw.load(fromByteOffset: 0, as: UInt64.self), raw.load(fromByteOffset: 8, as: UInt64.self),
            raw.load(fromByteOffset: 16, as: UInt64.self), raw.load(fromByteOffset: 24, as: UInt64.self)
          ))
      }
    }
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}

#if canImport(Glibc)
import Glibc
#endif
