import AgentCube
import AgentCubeTestSupport
import ArgumentParser
import Foundation
import Glibc

/// `agentcube-bench soak`: the real `agentcubed`, as a process of its own, under N clients of mixed
/// unary calls, M echo tunnels, a trickle of real sandboxes and injected faults, for a set time;
/// its RSS and descriptors sampled throughout.
struct Soak: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "soak",
    abstract: "Load and soak agentcubed (run as a process) with clients, tunnels and faults; report and gate.",
    discussion: """
      Starts agentcubed (beside this executable; the agentcube CLI must be there too) on a Unix socket \
      in a fresh directory under /tmp, with the echo image of the test fixtures (socat echoing on port \
      7000), creates --pool-sessions sessions, then for --duration seconds runs: --clients SDK clients \
      (one connection each) making Health, GetSession, ListSessions, RenewSession and GetSession of a \
      missing id, one call at a time; --tunnels echo tunnels checking every byte; --churn-workers \
      creating and deleting real sandboxes; and faults: clients vanishing mid-call (--vanish-per-second), \
      half-open connections (--half-open at a time), slow readers of calls and of tunnels. Samples the \
      server's VmRSS, RssAnon and open descriptors every --sample-interval seconds. Prints Markdown \
      tables; exits 1 on any unexpected error, a RSS or descriptor count that is not flat, or \
      descriptors not back to their level before the load. Loopback only; needs root (runc). \
      Build and run in release mode.
      """)

  @Option(help: "Well-behaved clients, each with its own connection.")
  var clients: Int = 200

  @Option(help: "Seconds of load.")
  var duration: Double = 60

  @Option(help: "Echo tunnels moving data for the whole run.")
  var tunnels: Int = 50

  @Option(help: "Sessions created before the load, read and renewed by the clients and reached by the tunnels.")
  var poolSessions: Int = 16

  @Option(help: "Workers creating and deleting real sandboxes during the load (0: none).")
  var churnWorkers: Int = 2

  @Option(help: "Seconds each churn worker pauses between a delete and its next create.")
  var churnPause: Double = 1

  @Option(help: "Milliseconds each client pauses between calls (0: the next call as soon as one is answered).")
  var clientPauseMs: Int = 0

  @Option(help: "Bytes per tunnel round trip.")
  var tunnelChunk: Int = 64 << 10

  @Option(help: "Bytes per second each tunnel sends at most (0: as fast as echoes come back).")
  var tunnelRate: Int = 1 << 20

  @Option(help: "Clients vanishing mid-call per second, in four ways in turn (0: none).")
  var vanishPerSecond: Double = 20

  @Option(help: "Half-open connections held at a time, each until the server closes it (0: none).")
  var halfOpen: Int = 20

  @Option(help: "Connections sending ListSessions faster than they read the answers (0: none).")
  var slowReaders: Int = 2

  @Option(help: "Tunnels writing fast and reading their echoes at 64 KiB/s (0: none).")
  var slowTunnels: Int = 2

  @Option(help: "Seconds between samples of the server's RSS and descriptors.")
  var sampleInterval: Double = 5

  @Option(help: "Seconds of load before the flatness comparison starts (warm-up).")
  var warmup: Double = 10

  @Option(help: "Allowed RSS growth, last third of the samples against the first: this percentage...")
  var rssTolerancePercent: Double = 10

  @Option(help: "...plus this many MiB.")
  var rssToleranceMib: Double = 8

  @Option(help: "Allowed growth of the mean descriptor count, last third against first.")
  var fdTolerance: Int = 16

  @Option(help: "Seconds to wait after the load for the descriptors to return to their level before it.")
  var settle: Double = 30

  @Option(help: "The daemon's --max-sessions-per-identity (pool and churn are one caller's).")
  var maxSessionsPerIdentity: Int = 64

  func validate() throws {
    guard (1...1000).contains(clients) else { throw ValidationError("--clients must be in 1...1000") }
    guard duration >= 5, duration <= 3600 else { throw ValidationError("--duration must be in [5, 3600] seconds") }
    guard (0...500).contains(tunnels), (0...100).contains(slowReaders), (0...100).contains(slowTunnels) else {
      throw ValidationError("--tunnels must be in 0...500, --slow-readers and --slow-tunnels in 0...100")
    }
    guard (1...48).contains(poolSessions), (0...8).contains(churnWorkers) else {
      throw ValidationError("--pool-sessions must be in 1...48, --churn-workers in 0...8")
    }
    guard poolSessions + churnWorkers <= maxSessionsPerIdentity else {
      throw ValidationError("--pool-sessions + --churn-workers must not exceed --max-sessions-per-identity")
    }
    guard (0...200).contains(halfOpen), vanishPerSecond >= 0, vanishPerSecond <= 1000 else {
      throw ValidationError("--half-open must be in 0...200, --vanish-per-second in [0, 1000]")
    }
    guard (1024...(16 << 20)).contains(tunnelChunk), tunnelRate >= 0 else {
      throw ValidationError("--tunnel-chunk must be in 1 KiB...16 MiB, --tunnel-rate at least 0")
    }
    guard sampleInterval >= 0.5, warmup >= 0, warmup < duration, settle >= 1, settle <= 600 else {
      throw ValidationError("--sample-interval ≥ 0.5, 0 ≤ --warmup < --duration, --settle in [1, 600]")
    }
    guard churnPause >= 0, clientPauseMs >= 0 else { throw ValidationError("pauses must not be negative") }
  }

  func run() async throws {
    guard geteuid() == 0 else { throw ValidationError("soak needs root: the sandboxes are runc containers") }
    var options = DaemonFixture.Options()
    options.logLevel = "warning"  // per-call lines are debug; warnings and errors stay in the log
    options.extraArguments = ["--max-sessions-per-identity", "\(maxSessionsPerIdentity)"]
    let fixture = try DaemonFixture(options: options)
    let report: SoakReport
    do {
      let daemon = try await fixture.startDaemon()
      report = try await SoakRun(soak: self, fixture: fixture, pid: daemon.pid).run()
    } catch {
      await stop(fixture)
      throw error
    }
    let ended = await stop(fixture)
    print(report.markdown(daemonEnd: ended))
    guard report.passed, ended == "exit status 0" else { throw ExitCode(1) }
  }

  /// Deletes what is left and stops the daemon with SIGTERM (bounded; SIGKILL after); how it ended.
  @discardableResult
  private func stop(_ fixture: DaemonFixture) async -> String {
    let results = await fixture.stopAll()
    let daemonLog = fixture.daemonOutput
    let warnings = daemonLog.split(separator: "\n").filter { $0.contains("error") || $0.contains("warning") }
    if !warnings.isEmpty {
      FileHandle.standardError.write(Data("daemon log, warnings and errors (\(warnings.count)):\n".utf8))
      for line in warnings.prefix(20) { FileHandle.standardError.write(Data("  \(line)\n".utf8)) }
    }
    fixture.remove()
    return results.last.map { "\($0.termination)" } ?? "not running"
  }
}
