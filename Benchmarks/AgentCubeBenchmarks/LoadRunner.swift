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
  /// The most samples one worker may record: its latency array is reserved to this size up front
  /// (untouched pages cost no memory), so recording never reallocates.
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
    if warmup > .zero {
      _ = try await runWorkers(client: client, stop: .after(warmup), record: false)
    }
    let cpuBefore = ProcessStats.cpuMicroseconds()
    let machineBefore = ProcessStats.machineBusyMicroseconds()
    let start = ContinuousClock.now
    let perWorker = try await runWorkers(client: client, stop: stop, record: true)
    let elapsed = ContinuousClock.now - start
    let ownMicroseconds = ProcessStats.cpuMicroseconds() - cpuBefore
    let cpu = Duration.microseconds(ownMicroseconds)
    var otherCPU: Duration?
    if let before = machineBefore, let after = ProcessStats.machineBusyMicroseconds() {
      otherCPU = .microseconds(max(0, after - before - ownMicroseconds))
    }
    let peak = ProcessStats.peakResidentKiB()
    var samples = perWorker.flatMap { $0 }
    return Measurement(
      calls: samples.count, elapsed: elapsed, latencies: LatencySummary(sorting: &samples), cpu: cpu,
      otherCPU: otherCPU,
      peakResidentKiB: peak)
  }

  /// Runs the workers; returns each one's recorded latencies in nanoseconds (empty when not recording).
  private func runWorkers(client: AgentCubeClient, stop: Stop, record: Bool) async throws -> [[Int64]] {
    let method = method
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
    return try await withThrowingTaskGroup(of: [Int64].self) { group in
      for budget in budgets {
        group.addTask {
          var latencies: [Int64] = []
          if record { latencies.reserveCapacity(budget) }
          var made = 0
          while made < budget, ContinuousClock.now < deadline {
            let begin = ContinuousClock.now
            try await method.call(client)
            let end = ContinuousClock.now
            if record { latencies.append((end - begin).wholeNanoseconds) }
            made += 1
          }
          return latencies
        }
      }
      var all: [[Int64]] = []
      for try await latencies in group { all.append(latencies) }
      return all
    }
  }
}
