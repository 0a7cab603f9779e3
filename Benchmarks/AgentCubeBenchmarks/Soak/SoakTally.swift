import AgentCube

/// What some of the soak's workers saw: latencies per method and how each call ended.
///
/// Each worker fills a tally of its own (no locks on the hot path); the run merges them at the end.
struct SoakTally: Sendable {
  /// How calls ended: one count per method, status code and whether the code was expected.
  struct Outcome: Hashable, Sendable {
    var method: String
    var code: StatusCode
    var expected: Bool
  }

  /// Latencies in nanoseconds, per method (short name).
  var latencies: [String: [Int64]] = [:]
  var outcomes: [Outcome: Int] = [:]
  /// The first few unexpected failures, described (status messages never carry tokens).
  var unexpectedSamples: [String] = []

  var calls: Int { outcomes.values.reduce(0, +) }
  var unexpected: Int { outcomes.filter { !$0.key.expected }.values.reduce(0, +) }

  /// Records one call that took `latency` and ended with `code`.
  mutating func record(_ method: String, latency: Duration, code: StatusCode, expected: Bool, detail: String = "") {
    latencies[method, default: []].append(latency.wholeNanoseconds)
    outcomes[Outcome(method: method, code: code, expected: expected), default: 0] += 1
    if !expected { noteUnexpected("\(method): \(code) \(detail)") }
  }

  /// Records a failure that is not a call's status (a tunnel's bytes, a fault not injected).
  mutating func noteUnexpected(_ text: String) {
    if unexpectedSamples.count < 10 { unexpectedSamples.append(text) }
  }

  mutating func merge(_ other: SoakTally) {
    for (method, samples) in other.latencies { latencies[method, default: []] += samples }
    for (outcome, count) in other.outcomes { outcomes[outcome, default: 0] += count }
    for sample in other.unexpectedSamples { noteUnexpected(sample) }
  }
}
