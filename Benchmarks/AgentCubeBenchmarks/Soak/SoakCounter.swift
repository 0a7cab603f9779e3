import Synchronization

/// A count shared by many tasks (calls made so far), read by the sampler.
final class SoakCounter: Sendable {
  private let count = Atomic<Int>(0)

  func add(_ amount: Int = 1) { count.add(amount, ordering: .relaxed) }

  var value: Int { count.load(ordering: .relaxed) }
}
