import AgentCube
import ArgumentParser
import Foundation

/// `throughput`: every path timed in the same run, repetitions interleaved.
struct Throughput: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Copy BYTES source → sink over each path; report GiB/s (median, min, max) and relay CPU.")

  @OptionGroup var connection: ServerConnectionOptions

  @Option(help: "Directory holding the tcp-pump and splice-relay binaries.")
  var tools: String

  @Option(help: "Bytes per copy.")
  var bytes: Int = 1 << 30

  @Option(help: "Measured repetitions per path (after one warm-up run each).")
  var repetitions: Int = 5

  @Option(help: "Relays listen on 127.0.0.1 at this port + 1 (socat), + 2 (socat-b1m), + 3 (splice).")
  var relayPortBase: Int = 17500

  @Option(
    help: """
      HOST:PORT of a `tcp-pump sink` on the host for the direct, socat, socat-b1m, splice and \
      direct-swift paths. Needed when sessions have no host address (runc sandboxes listen only in \
      their own network; the tunnel paths reach the session's sink through OpenTunnel). \
      Default: the session's address and port.
      """)
  var sink: String?

  @Option(help: "Busy cores from which a run counts as contended (another workload shared the machine).")
  var contendedCores: Double = 1.95

  @Option(parsing: .upToNextOption, help: "Paths to run: \(Path.allCases.map(\.rawValue).joined(separator: ", ")).")
  var paths: [Path] = Path.allCases

  /// One measured copy.
  struct Run {
    var path: Path
    var gibPerSecond: Double
    /// CPU seconds the relay process used, per GiB; nil without a relay.
    var relayCPUPerGiB: Double?
    /// Average number of busy cores of the machine during the copy.
    var busyCores: Double
  }

  func validate() throws {
    guard bytes > 0, repetitions > 0 else { throw ValidationError("--bytes and --repetitions must be positive") }
    if let sink {
      guard let colon = sink.lastIndex(of: ":"), colon != sink.startIndex,
        let port = Int(sink[sink.index(after: colon)...]), (1...65535).contains(port)
      else { throw ValidationError("--sink must be HOST:PORT") }
    }
  }

  /// Where the baselines send their bytes: `--sink`, else the session's own address.
  private func baselineSink(_ session: Session) throws -> (host: String, port: Int) {
    if let sink, let colon = sink.lastIndex(of: ":") {
      return (String(sink[..<colon]), Int(sink[sink.index(after: colon)...])!)  // checked in validate()
    }
    guard !session.address.isEmpty else {
      throw BenchmarkError("the session has no host address (a runc sandbox): give --sink HOST:PORT for the baselines")
    }
    return (session.address, Int(session.sshPort))
  }

  func run() async throws {
    let client = connection.makeClient()
    let runs = try await withSinkSession(client, image: connection.image) { session in
      try await measureAll(client: client, session: session)
    }
    await client.close()
    print(report(runs))
  }

  private func measureAll(client: AgentCubeClient, session: Session) async throws -> [Run] {
    var relays: [Path: ChildProcess] = [:]
    do {
      let runs = try await startRelaysAndMeasure(client: client, session: session, relays: &relays)
      for relay in relays.values { await relay.stop() }
      return runs
    } catch {
      for relay in relays.values { await relay.stop() }
      throw error
    }
  }

  private func startRelaysAndMeasure(
    client: AgentCubeClient, session: Session, relays: inout [Path: ChildProcess]
  ) async throws -> [Run] {
    let sink = try baselineSink(session)
    for path in paths {
      guard let offset = path.relayPortOffset else { continue }
      let port = relayPortBase + offset
      let arguments: [String] =
        switch path {
        case .socat: [Self.socat, "TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr,fork", "TCP:\(sink.host):\(sink.port)"]
        case .socatLarge:
          [
            Self.socat, "-b", "1048576", "TCP-LISTEN:\(port),bind=127.0.0.1,reuseaddr,fork",
            "TCP:\(sink.host):\(sink.port)",
          ]
        default: ["\(tools)/splice-relay", "127.0.0.1", "\(port)", sink.host, "\(sink.port)"]
        }
      relays[path] = try ChildProcess(arguments)
      try await ChildProcess.waitUntilListening(host: "127.0.0.1", port: port)
    }
    var runs: [Run] = []
    for repetition in 0...repetitions {
      // Rotate the order so that no path always runs first (or right after the same neighbour).
      let shift = repetition % paths.count
      for path in Array(paths[shift...] + paths[..<shift]) {
        let run = try await measure(path, client: client, session: session, relays: relays)
        let label = repetition == 0 ? "warm-up" : "run \(repetition)"
        let cpu = run.relayCPUPerGiB.map { $0.fixed(2) } ?? "-"
        let line =
          "\(label) \(path.rawValue): \(run.gibPerSecond.fixed(3)) GiB/s, relay CPU \(cpu) s/GiB, "
          + "\(run.busyCores.fixed(2)) cores busy\n"
        FileHandle.standardError.write(Data(line.utf8))
        if repetition > 0 { runs.append(run) }
      }
    }
    return runs
  }

  private func measure(_ path: Path, client: AgentCubeClient, session: Session, relays: [Path: ChildProcess])
    async throws -> Run
  {
    let relayPid: Int32? =
      switch path {
      case .direct, .directSwift: nil
      case .tunnel, .tunnelSDK: connection.serverPid
      case .socat, .socatLarge, .splice: relays[path]?.pid
      }
    let cpuBefore = relayPid.flatMap(ProcessStats.cpuSeconds(pid:))
    let machineBefore = ProcessStats.machineCPU()
    let seconds: Double
    switch path {
    case .direct:
      let sink = try baselineSink(session)
      seconds = try await source(host: sink.host, port: sink.port)
    case .socat, .socatLarge, .splice:
      seconds = try await source(host: "127.0.0.1", port: relayPortBase + path.relayPortOffset!)
    case .tunnel:
      seconds = try await source(host: connection.host, port: connection.port, tunnel: session.id)
    case .tunnelSDK:
      seconds = try await SwiftPump.tunnel(client, sessionID: session.id, bytes: bytes).seconds
    case .directSwift:
      let sink = try baselineSink(session)
      seconds = try await SwiftPump.direct(host: sink.host, port: sink.port, bytes: bytes).seconds
    }
    if let relayPid, path == .socat || path == .socatLarge {
      // socat's child for this connection counts in the parent's CPU time once reaped.
      let deadline = ContinuousClock.now + .seconds(5)
      while ProcessStats.hasChildren(pid: relayPid), ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(5))
      }
    }
    let machineAfter = ProcessStats.machineCPU()
    let gib = Double(bytes) / Double(1 << 30)
    let relayCPU = zip(cpuBefore, relayPid.flatMap(ProcessStats.cpuSeconds(pid:))).map { ($1 - $0) / gib }
    let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
    let total = machineAfter.total - machineBefore.total
    return Run(
      path: path, gibPerSecond: gib / seconds, relayCPUPerGiB: relayCPU,
      busyCores: total > 0 ? (machineAfter.busy - machineBefore.busy) / total * cores : 0)
  }

  /// One run of `tcp-pump source`; returns its own timing (connection open to the sink's answer).
  private func source(host: String, port: Int, tunnel sessionID: String? = nil) async throws -> Double {
    var arguments = ["\(tools)/tcp-pump", "source", host, "\(port)", "\(bytes)"]
    if let sessionID { arguments += ["--tunnel", connection.token, sessionID, "0"] }
    let output = try await ChildProcess(arguments).finish()
    guard let field = output.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("seconds=") }),
      let seconds = Double(field.dropFirst("seconds=".count))
    else { throw BenchmarkError("unexpected tcp-pump output: \(output)") }
    return seconds
  }

  private func report(_ runs: [Run]) -> String {
    var lines = [
      "\(repetitions) repetitions of \(bytes) bytes per path, interleaved, after one warm-up run each.",
      "",
      "| path | median GiB/s | min | max | relay CPU s/GiB (median) | busy cores (median) |",
      "|---|---:|---:|---:|---:|---:|",
    ]
    for path in paths {
      let mine = runs.filter { $0.path == path }
      guard let speed = Summary(mine.map(\.gibPerSecond)) else { continue }
      let cpu = Summary(mine.compactMap(\.relayCPUPerGiB)).map { $0.median.fixed(2) } ?? "–"
      let busy = Summary(mine.map(\.busyCores))?.median.fixed(2) ?? "–"
      lines.append(
        "| \(path.rawValue) | \(speed.median.fixed(3)) | \(speed.min.fixed(3)) | \(speed.max.fixed(3)) "
          + "| \(cpu) | \(busy) |"
      )
    }
    lines.append("")
    for (numerator, denominator) in [
      (Path.tunnel, Path.socat), (.tunnel, .splice), (.tunnelSDK, .directSwift), (.splice, .direct),
    ] {
      let top = runs.filter { $0.path == numerator }
      let bottom = runs.filter { $0.path == denominator }
      guard top.count == bottom.count,
        let medians = zip(Summary(top.map(\.gibPerSecond)), Summary(bottom.map(\.gibPerSecond))).map({
          $0.median / $1.median
        }),
        let paired = Summary(zip(top, bottom).map { $0.gibPerSecond / $1.gibPerSecond })
      else { continue }
      var line =
        "- \(numerator.rawValue) / \(denominator.rawValue): \(medians.fixed(3)) (ratio of medians); "
        + "per repetition median \(paired.median.fixed(3)), range \(paired.min.fixed(3))–\(paired.max.fixed(3))"
      // A copy alone keeps the 2 cores about 1.4-1.8 busy; near 2, something else ran too.
      let quiet = zip(top, bottom).filter { $0.busyCores < contendedCores && $1.busyCores < contendedCores }
      if quiet.count < top.count, let quietRatio = Summary(quiet.map { $0.gibPerSecond / $1.gibPerSecond }) {
        line +=
          "; in the \(quiet.count) repetitions where both ran below \(contendedCores.fixed(2)) busy cores: "
          + "median \(quietRatio.median.fixed(3)), range \(quietRatio.min.fixed(3))–\(quietRatio.max.fixed(3))"
      }
      lines.append(line)
    }
    return lines.joined(separator: "\n")
  }

  private static let socat = "/usr/bin/socat"
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
  guard let a, let b else { return nil }
  return (a, b)
}

extension Duration {
  var seconds: Double {
    let (whole, attoseconds) = components
    return Double(whole) + Double(attoseconds) / 1e18
  }
}
