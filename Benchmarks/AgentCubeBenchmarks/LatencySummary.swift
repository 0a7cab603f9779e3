/// Percentiles of a set of call latencies, computed once after a run.
struct LatencySummary: Sendable {
  var count: Int
  var p50: Duration
  var p90: Duration
  var p99: Duration
  var max: Duration

  /// Sorts `nanoseconds` in place and reads the nearest-rank percentiles; `nil` when empty.
  init?(sorting nanoseconds: inout [Int64]) {
    guard !nanoseconds.isEmpty else { return nil }
    nanoseconds.sort()
    func rank(_ fraction: Double) -> Duration {
      // Nearest rank: the smallest sample with at least `fraction` of all samples at or below it.
      let index = Swift.max(0, Int((fraction * Double(nanoseconds.count)).rounded(.up)) - 1)
      return .nanoseconds(nanoseconds[Swift.min(index, nanoseconds.count - 1)])
    }
    count = nanoseconds.count
    p50 = rank(0.50)
    p90 = rank(0.90)
    p99 = rank(0.99)
    max = .nanoseconds(nanoseconds[nanoseconds.count - 1])
  }
}

extension Duration {
  /// The duration in microseconds, as a fraction.
  var microseconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) * 1e6 + Double(attoseconds) / 1e12
  }

  /// The duration in seconds, as a fraction.
  var seconds: Double { microseconds / 1e6 }

  /// The duration in whole nanoseconds (saturating).
  var wholeNanoseconds: Int64 {
    let (seconds, attoseconds) = components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    return overflow ? .max : scaled &+ attoseconds / 1_000_000_000
  }
}
