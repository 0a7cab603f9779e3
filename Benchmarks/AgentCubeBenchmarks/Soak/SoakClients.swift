import AgentCube

/// The well-behaved clients: each its own `AgentCubeClient` (its own connection), making one call
/// of the mix at a time until the deadline.
struct SoakClients {
  var count: Int
  var target: ConnectionTarget
  var token: String
  /// Sessions every client may read and renew (all are the same caller's).
  var pool: [String]
  /// Pause between two calls of one client (zero: as fast as answers come).
  var pause: Duration
  /// Calls made so far by all clients, for the samples over time.
  var progress: SoakCounter

  /// Runs every client until `deadline`; a call in flight then still finishes (it is bounded by
  /// the SDK's 30 s timeout).
  func run(until deadline: ContinuousClock.Instant) async -> SoakTally {
    await withTaskGroup(of: SoakTally.self) { group in
      for index in 0..<count {
        group.addTask { await runOne(index: index, until: deadline) }
      }
      var total = SoakTally()
      for await tally in group { total.merge(tally) }
      return total
    }
  }

  private func runOne(index: Int, until deadline: ContinuousClock.Instant) async -> SoakTally {
    let client = AgentCubeClient(target: target, token: .token(token))
    var tally = SoakTally()
    var generator = SystemRandomNumberGenerator()
    var turn = index
    while ContinuousClock.now < deadline {
      let call = SoakCall.pick(using: &generator)
      let session = pool[turn % pool.count]
      turn += 1
      let start = ContinuousClock.now
      let (code, detail) = await call.run(client, session: session, poolSize: pool.count)
      let latency = ContinuousClock.now - start
      tally.record(call.rawValue, latency: latency, code: code, expected: call.expects(code), detail: detail)
      progress.add()
      if pause > .zero { try? await Task.sleep(for: pause) }
    }
    await client.close()
    return tally
  }
}
