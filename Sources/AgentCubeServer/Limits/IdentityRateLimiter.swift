import Synchronization

/// A rate limit per caller: one ``TokenBucket`` for each identity, on an injected clock.
///
/// Memory stays bounded by the callers that were recently active: a bucket that is full again
/// behaves like a new one, so buckets are forgotten once full, in a sweep at most once per refill
/// time (`burst / rate`, at least 1 s).
package final class IdentityRateLimiter: Sendable {
  private struct State {
    var buckets: [String: TokenBucket] = [:]
    var nextSweep: ContinuousClock.Instant
  }

  /// Calls allowed per second, on average.
  package let rate: Double
  /// Calls allowed at once after a quiet time.
  package let burst: Int
  private let clock: MonotonicClock
  private let sweepInterval: Duration
  private let state: Mutex<State>

  package init(rate: Double, burst: Int, clock: MonotonicClock) {
    self.rate = rate
    self.burst = burst
    self.clock = clock
    // The longest an emptied bucket takes to be full again.
    self.sweepInterval = max(.seconds(1), TokenBucket(rate: rate, burst: burst, now: clock.now()).interval * burst)
    self.state = Mutex(State(nextSweep: clock.now() + sweepInterval))
  }

  /// Takes one call of `identity`'s allowance: `nil` when it may go ahead, else how long until it may.
  package func acquire(for identity: String) -> Duration? {
    let now = clock.now()
    return state.withLock { state in
      if now >= state.nextSweep {
        state.buckets = state.buckets.filter { !$0.value.isFull(at: now) }
        state.nextSweep = now + sweepInterval
      }
      var bucket = state.buckets[identity] ?? TokenBucket(rate: rate, burst: burst, now: now)
      let wait = bucket.take(at: now)
      state.buckets[identity] = bucket
      return wait
    }
  }

  /// How many callers have a bucket (for tests of the memory bound).
  package var trackedIdentities: Int { state.withLock { $0.buckets.count } }
}
