/// Waits between attempts: doubling from `initial` up to `maximum`, each wait drawn at random from
/// its upper half ("equal jitter") so that replicas reconnecting after one outage spread out.
struct Backoff: Sendable {
  let initial: Duration
  let maximum: Duration
  private var current: Duration

  init(initial: Duration, maximum: Duration) {
    self.initial = max(initial, .milliseconds(1))
    self.maximum = max(maximum, self.initial)
    self.current = self.initial
  }

  /// The next wait; the one after it is twice as long (up to `maximum`).
  mutating func next() -> Duration {
    let ceiling = current
    current = min(current * 2, maximum)
    let half = ceiling / 2
    let jitter = Double.random(in: 0...1)
    return half + half * jitter
  }

  /// After a success: the next wait is short again.
  mutating func reset() { current = initial }
}
