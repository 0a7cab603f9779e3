import Synchronization

/// CreateSession calls under way per caller, so that a session quota holds for concurrent creates.
final class CreationsInFlight: Sendable {
  private let counts = Mutex<[String: Int]>([:])

  /// Counts one more create for `identity` if its `live` sessions plus those under way stay
  /// below `limit`; whether it did.
  func reserve(for identity: String, live: Int, limit: Int) -> Bool {
    counts.withLock { counts in
      let underWay = counts[identity, default: 0]
      guard live + underWay < limit else { return false }
      counts[identity] = underWay + 1
      return true
    }
  }

  func release(for identity: String) {
    counts.withLock { counts in
      let left = counts[identity, default: 1] - 1
      counts[identity] = left > 0 ? left : nil
    }
  }
}
