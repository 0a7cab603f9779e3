import AgentCube

/// Runs one configuration: `concurrency` tasks sharing one client (one connection), each making
/// one call at a time, first for the warm-up, then measured until the duration passes or the call
/// budget is spent.
struct LoadRunner {
  /// When the measured phase ends.
  enum Stop: Sendable {
    case after(Duration)
    case calls(Int)
  }

  var method: BenchmarkMethod
  var concurrency: Int
  var warmup: Duration
  var stop: Stop
  /// The most calls one worker makes in the measured phase (a bound on the samples kept).
  var maxCallsPerWorker: Int

  /// What the measured phase produced.
  struct Measurement: Sendable {
    var calls: Int
    var elapsed: Duration
    var latencies: LatencySummary?
    /// CPU time (user + system) of the whole process, server and client, during the phase.
    var cpu: Duration
    /// CPU time other processes used during the phase (machine busy time minus ours), if known.
    var otherCPU: Duration?
    /// Peak RSS of the process since the last reset, read as the phase ended (the recorded
    /// samples, 8 bytes a call, are in it; their merged copy made afterwards is not).
    var peakResidentKiB: Int?
  }

  func run(client: AgentCubeClient) async throws -> Measurement {
    // Each worker's latency array is reserved before the measured phase, to what the warm-up's
    // rate predicts with room to spare, so recording does not reallocate (or, with a far larger
    // reservation, leave memory behind in malloc that shows in the next row's RSS).
    var reserve = maxCallsPerWorker
    if warmup > .zero {
      let warm = try await runWorkers(client: client, stop: .after(warmup), reserve: 0)
      if case .after(let duration) = stop {
        let perWorker = Double(warm.calls) / Double(concurrency) * (duration / warmup)
        reserve = min(maxCallsPerWorker, Int(perWorker * 1.5) + 1024)
      }
    }
    if case .calls(let total) = stop { reserve = min(reserve, total / concurrency + 1) }

    let cpuBefore = ProcessStats.cpuMicroseconds()
    let machineBefore = ProcessStats.machineBusyMicroseconds()
    let start = ContinuousClock.now
    let measured = try await runWorkers(client: client, stop: stop, reserve: reserve)
    let elapsed = ContinuousClock.now - start
    let ownMicroseconds = ProcessStats.cpuMicroseconds() - cpuBefore
    var otherCPU: Duration?
    if let before = machineBefore, let after = ProcessStats.machineBusyMicroseconds() {
      otherCPU = .microseconds(max(0, after - before - ownMicroseconds))
    }
    let peak = ProcessStats.peakResidentKiB()
    var samples = measured.latencies.flatMap { $0 }
    return Measurement(
      calls: measured.calls, elapsed: elapsed, latencies: LatencySummary(sorting: &samples),
      cpu: .microseconds(ownMicroseconds), otherCPU: otherCPU, peakResidentKiB: peak)
  }

  /// Runs the workers. With `reserve` > 0 each records its latencies in nanoseconds into an array
  /// reserved to that many; with 0 nothing is recorded.
  private func runWorkers(
    client: AgentCubeClient, stop: Stop, reserve: Int
  ) async throws -> (calls: Int, latencies: [[Int64]]) {
    let method = method
    let record = reserve > 0
    let deadline: ContinuousClock.Instant
    var budgets = [Int](repeating: maxCallsPerWorker, count: concurrency)
    switch stop {
    case .after(let duration):
      deadline = .now + duration
    case .calls(let total):
      deadline = .now + .seconds(86_400)
      // Split the calls as evenly as possible.
      for worker in 0..<concurrency { budgets[worker] = total / concurrency + (worker < total % concurrency ? 1 : 0) }
    }
    return try await withThrowingTaskGroup(of: (Int, [Int64]).self) { group in
      for budget in budgets {
        group.addTask {
          var latencies: [Int64] = []
          if record { latencies.reserveCapacity(reserve) }
          var made = 0
          while made < budget, ContinuousClock.now < deadline {
            let begin = ContinuousClock.now
            try await method.call(client)
            let end = ContinuousClock.now
            if record { latencies.append((end - begin).wholeNanoseconds) }
            made += 1
          }
          return (made, latencies)
        }
      }
      var calls = 0
      var all: [[Int64]] = []
      for try await (made, latencies) in group {
        calls += made
        all.append(latencies)
      }
      return (calls, all)
    }
  }
}
