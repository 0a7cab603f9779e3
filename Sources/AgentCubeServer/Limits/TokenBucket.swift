/// A token bucket: holds at most `burst` tokens, refilled at `rate` tokens per second; each call
/// takes one. A value type on the caller's clock; ``IdentityRateLimiter`` keeps one per caller.
///
/// Kept as the instant at which the bucket is full again (the generic cell rate algorithm,
/// equivalent to counting tokens), so that every step is exact `Duration` arithmetic.
package struct TokenBucket: Sendable {
  /// The time one token takes to come back: 1 / rate.
  package let interval: Duration
  /// How far ahead of now ``full`` may run: (burst - 1) intervals.
  private let tolerance: Duration
  /// When the bucket is full again (now or earlier: it is full).
  private var full: ContinuousClock.Instant

  /// A full bucket at `now`.
  package init(rate: Double, burst: Int, now: ContinuousClock.Instant) {
    precondition(rate > 0 && burst >= 1, "a token bucket needs a positive rate and room for one token")
    let nanoseconds = (1e9 / rate).rounded()
    self.interval = .nanoseconds(nanoseconds < 9e18 ? max(1, Int64(nanoseconds)) : Int64(9e18))
    self.tolerance = interval * (burst - 1)
    self.full = now
  }

  /// Takes a token at `now`: `nil` when there was one, else how long until there will be (and
  /// none is taken).
  package mutating func take(at now: ContinuousClock.Instant) -> Duration? {
    let start = max(full, now)
    let wait = (start - now) - tolerance
    guard wait <= .zero else { return wait }
    full = start + interval
    return nil
  }

  /// Whether the bucket is full again at `now`, so that forgetting it changes nothing.
  package func isFull(at now: ContinuousClock.Instant) -> Bool { full <= now }
}
