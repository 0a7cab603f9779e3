import Synchronization

/// A count per caller held under a limit: CreateSession calls under way (so that a session quota
/// holds for concurrent creates), or open tunnels. Callers at zero are forgotten.
final class CountsPerIdentity: Sendable {
  private let counts = Mutex<[String: Int]>([:])

  /// Counts one more for `identity` if `live` (what is already there, counted elsewhere) plus
  /// this count stays below `limit`; whether it did.
  func reserve(for identity: String, live: Int = 0, limit: Int) -> Bool {
    counts.withLock { counts in
      let underWay = counts[identity, default: 0]
      guard live + underWay < limit else { return false }
      counts[identity] = underWay + 1
      return true
    }
  }

  /// Counts one less for `identity`.
  func release(for identity: String) {
    counts.withLock { counts in
      let left = counts[identity, default: 1] - 1
      counts[identity] = left > 0 ? left : nil
    }
  }
}
