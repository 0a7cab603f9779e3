import Glibc

/// Where the server reads the time of day for TTLs, idle timeouts and activity: the system's
/// clock, or one a test sets (so that expiry tests need not wait on real time).
public struct WallClock: Sendable {
  /// Unix time in milliseconds.
  public var now: @Sendable () -> Int64

  /// A clock that reads `now`.
  public init(now: @escaping @Sendable () -> Int64) { self.now = now }

  /// The system's real-time clock.
  public static let system = WallClock(now: wallClockMilliseconds)
}

/// Unix time in milliseconds, from the system's real-time clock.
public func wallClockMilliseconds() -> Int64 {
  var now = timespec()
  clock_gettime(CLOCK_REALTIME, &now)
  return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}
