import Synchronization

/// Samples the server process's memory and descriptors at a fixed interval, with the calls made
/// so far and the phase of the run, until stopped.
final class ServerSampler: Sendable {
  struct Sample: Sendable {
    var seconds: Double
    var phase: String
    var residentKiB: Int
    var anonymousKiB: Int
    var openFiles: Int
    var calls: Int
  }

  let pid: Int32
  private let calls: SoakCounter
  private let start = ContinuousClock.now
  private let state = Mutex<(phase: String, samples: [Sample])>(("idle", []))

  init(pid: Int32, calls: SoakCounter) {
    self.pid = pid
    self.calls = calls
  }

  /// Labels the samples taken from now on.
  func enter(_ phase: String) { state.withLock { $0.phase = phase } }

  var samples: [Sample] { state.withLock { $0.samples } }

  /// Takes one sample now (also called between the interval's samples, at the run's milestones).
  @discardableResult
  func sample() -> Sample {
    let sample = Sample(
      seconds: (ContinuousClock.now - start).seconds, phase: state.withLock { $0.phase },
      residentKiB: ProcessStats.residentKiB(pid: pid) ?? -1,
      anonymousKiB: ProcessStats.anonymousResidentKiB(pid: pid) ?? -1,
      openFiles: ProcessStats.openFiles(pid: pid) ?? -1, calls: calls.value)
    state.withLock { $0.samples.append(sample) }
    return sample
  }

  /// Samples every `interval` until the task is cancelled.
  func run(every interval: Duration) async {
    var next = ContinuousClock.now
    while !Task.isCancelled {
      sample()
      next += interval
      do { try await Task.sleep(until: next, clock: .continuous) } catch { return }
    }
  }
}
