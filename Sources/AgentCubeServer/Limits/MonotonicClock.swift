/// Where the server reads the time for its rate limits: the system's monotonic clock, or one a
/// test moves by hand.
public struct MonotonicClock: Sendable {
  /// The current instant.
  public var now: @Sendable () -> ContinuousClock.Instant

  /// A clock that reads `now`.
  public init(now: @escaping @Sendable () -> ContinuousClock.Instant) { self.now = now }

  /// The system's continuous clock (it does not jump with the time of day).
  public static let continuous = MonotonicClock { .now }
}
