import AgentCube
import AgentCubeLocalBackend
import ArgumentParser
import Foundation
import Glibc
import Logging
import NIOCore

/// `agentcube-bench lifecycle`: CreateSession and DeleteSession of real sandboxes through the SDK.
struct Lifecycle: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lifecycle",
    abstract: "Time CreateSession and DeleteSession of real runc sandboxes against an in-process server.",
    discussion: """
      Starts the same in-process server as the unary mode (SessionServer over a LocalBackend in a \
      fresh state directory under /tmp, mode 0711), then for every concurrency level runs --sessions \
      create/delete cycles through the SDK over the Unix socket, that many workers at once. A create \
      returns once the backend saw the image serve (for the default OpenSSH image: sshd's SSH banner \
      inside the sandbox's network); with --check-banner each new session's banner is also read \
      through an OpenTunnel, outside the timed calls. After each level it reports zombie and live \
      children of this process, and the sessions' cgroups, mounts, loop devices and sandbox \
      directories still present, at once and again after --settle seconds. Needs root. \
      Build and run in release mode.
      """)

  @Option(help: "Create/delete cycles per concurrency level.")
  var sessions: Int = 50

  @Option(
    help: "Workers at once, comma-separated; each runs create, then delete, until the cycles are done.",
    transform: { try parseList($0, Int.init) })
  var concurrency: [Int] = [1, 4]

  @Option(help: "The image to create (default: the built-in OpenSSH image).")
  var image: String = LocalImage.defaultName

  @Option(help: "Unmeasured cycles before the first level (0: the first measured create makes the workspace template).")
  var warmup: Int = 0

  @Flag(inversion: .prefixedNo, help: "Read each new session's SSH banner through a tunnel (not timed).")
  var checkBanner = true

  @Option(help: "Seconds to wait before the second look for leftovers.")
  var settle: Double = 2

  @Flag(help: "Print each cycle's times (CLOCK_MONOTONIC seconds, as `perf record -k mono`) to standard error, for profiling.")
  var timeline = false

  @Option(help: "Server log level.")
  var logLevel: String = "warning"

  func validate() throws {
    guard (1...10_000).contains(sessions) else { throw ValidationError("--sessions must be in 1...10000") }
    guard !concurrency.isEmpty, concurrency.allSatisfy({ (1...64).contains($0) }) else {
      throw ValidationError("--concurrency values must be between 1 and 64")
    }
    guard (0...1000).contains(warmup) else { throw ValidationError("--warmup must be in 0...1000") }
    guard settle >= 0, settle <= 600 else { throw ValidationError("--settle must be in [0, 600] seconds") }
    guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
  }

  /// One level's measurements.
  struct Level {
    var concurrency: Int
    var creates: [Int64] = []
    var deletes: [Int64] = []
    /// The first create of the level (in cycle order).
    var firstCreate: Int64 = 0
    var wall: Duration = .zero
    var ownCPU: Duration = .zero
    var childrenCPU: Duration = .zero
    var otherCores: Double?
    var leftoversNow: Leftovers?
    var leftoversSettled: Leftovers?
  }

  func run() async throws {
    guard geteuid() == 0 else { throw ValidationError("lifecycle needs root (runc sandboxes, cgroups, loop mounts)") }
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: "agentcube-bench")
    logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning

    let server = try await BenchmarkServer.start(logger: logger)
    let stateDirectory = server.directory + "/state"
    let loadBefore = ProcessStats.loadAverage()
    var levels: [Level] = []
    var health: HealthCheckResponse?
    do {
      let publicKey = try Self.makeKey(in: server.directory)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.backend.run() }  // the reaper, as agentcubed runs it
        let client = AgentCubeClient(target: .unixSocket(path: server.socketPath), token: .token(server.token))
        do {
          let answer = try await client.health.check()
          health = answer
          guard answer.isolated else { throw UnexpectedAnswer("sandboxes cannot start here: \(answer.isolationMessage)") }
          for cycle in 0..<warmup {
            progress("warm-up cycle \(cycle + 1)/\(warmup)")
            _ = try await oneCycle(client, publicKey: publicKey)
          }
          for concurrency in concurrency {
            progress("\(sessions) cycles, \(concurrency) at once…")
            levels.append(try await measure(client, concurrency: concurrency, publicKey: publicKey, state: stateDirectory))
          }
        } catch {
          await client.close()
          throw error
        }
        await client.close()
        group.cancelAll()
      }
      // Deleted sandboxes' files go on background threads; let them finish before the directory goes.
      let deadline = ContinuousClock.now + .seconds(10)
      while ContinuousClock.now < deadline,
        Leftovers.scan(stateDirectory: stateDirectory, ids: []).sandboxDirectories.count > 0
      {
        try await Task.sleep(for: .milliseconds(20))
      }
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
    print(report(levels, health: health, loadBefore: loadBefore, loadAfter: ProcessStats.loadAverage()))
  }

  private func measure(_ client: AgentCubeClient, concurrency: Int, publicKey: String, state: String) async throws
    -> Level
  {
    let claims = CycleCounter(total: sessions)
    let cpuBefore = ProcessStats.cpuMicroseconds()
    let childrenBefore = Self.childrenCPUMicroseconds()
    let machineBefore = ProcessStats.machineBusyMicroseconds()
    let start = ContinuousClock.now
    let cycles = try await withThrowingTaskGroup(of: [Cycle].self) { group in
      for _ in 0..<concurrency {
        group.addTask {
          var mine: [Cycle] = []
          while let index = await claims.next() {
            var cycle = try await oneCycle(client, publicKey: publicKey)
            cycle.index = index
            mine.append(cycle)
          }
          return mine
        }
      }
      var all: [Cycle] = []
      for try await mine in group { all += mine }
      return all.sorted { $0.index < $1.index }
    }
    var level = Level(concurrency: concurrency)
    level.wall = ContinuousClock.now - start
    let own = ProcessStats.cpuMicroseconds() - cpuBefore
    level.ownCPU = .microseconds(own)
    level.childrenCPU = .microseconds(Self.childrenCPUMicroseconds() - childrenBefore)
    if let before = machineBefore, let after = ProcessStats.machineBusyMicroseconds() {
      let others = Double(max(0, after - before - own - level.childrenCPU.wholeNanoseconds / 1000))
      level.otherCores = others / max(1, level.wall.microseconds)
    }
    level.creates = cycles.map(\.create)
    level.deletes = cycles.map(\.delete)
    level.firstCreate = cycles.first?.create ?? 0
    let ids = cycles.map(\.id)
    level.leftoversNow = Leftovers.scan(stateDirectory: state, ids: ids)
    try await Task.sleep(for: .milliseconds(Int64(settle * 1000)))
    level.leftoversSettled = Leftovers.scan(stateDirectory: state, ids: ids)
    return level
  }

  struct Cycle: Sendable {
    var index = 0
    var id: String
    var create: Int64
    var delete: Int64
  }

  /// Create (timed), check, delete (timed).
  private func oneCycle(_ client: AgentCubeClient, publicKey: String) async throws -> Cycle {
    let wallBegin = Self.wallClock()
    let begin = ContinuousClock.now
    let session = try await client.sessions.createSession(
      CreateSessionRequest(image: image, ttlSeconds: 600, sshPublicKey: publicKey)
    ).session
    let created = ContinuousClock.now
    guard session.status == .running else { throw UnexpectedAnswer("session \(session.id) is \(session.status)") }
    if checkBanner {
      let banner = try await Self.readBanner(client, sessionID: session.id)
      guard banner.hasPrefix("SSH-2.0-") else { throw UnexpectedAnswer("session \(session.id) answered '\(banner)'") }
    }
    let deleting = ContinuousClock.now
    _ = try await client.sessions.deleteSession(DeleteSessionRequest(sessionID: session.id))
    let deleted = ContinuousClock.now
    if timeline {
      let created = String(format: "%.6f", wallBegin + (created - begin).microseconds / 1e6)
      let deleting = String(format: "%.6f", wallBegin + (deleting - begin).microseconds / 1e6)
      let deleted = String(format: "%.6f", wallBegin + (deleted - begin).microseconds / 1e6)
      progress(
        "timeline \(session.id) create-start=\(String(format: "%.6f", wallBegin)) created=\(created) "
          + "delete-start=\(deleting) deleted=\(deleted)")
    }
    return Cycle(
      id: session.id, create: (created - begin).wholeNanoseconds, delete: (deleted - deleting).wholeNanoseconds)
  }

  /// The first line the session's port sends through an OpenTunnel (10 s at most).
  private static func readBanner(_ client: AgentCubeClient, sessionID: String) async throws -> String {
    try await withThrowingTaskGroup(of: String.self) { group in
      group.addTask {
        try await client.sessions.withTunnel(sessionID: sessionID) { tunnel in
          var received = ByteBuffer()
          for try await var chunk in tunnel.inbound {
            received.writeBuffer(&chunk)
            if received.readableBytesView.contains(UInt8(ascii: "\n")) || received.readableBytes > 4096 { break }
          }
          return String(buffer: received).trimmingCharacters(in: .whitespacesAndNewlines)
        }
      }
      group.addTask {
        try await Task.sleep(for: .seconds(10))
        throw UnexpectedAnswer("no banner from session \(sessionID) within 10 s")
      }
      let first = try await group.next()!
      group.cancelAll()
      return first
    }
  }

  /// An ed25519 key pair made with ssh-keygen in `directory`; returns the public key line.
  private static func makeKey(in directory: String) throws -> String {
    let path = directory + "/agent-key"
    let arguments = ["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agentcube-bench", "-f", path]
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0 else {
      throw UnexpectedAnswer("cannot run \(arguments[0])")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    guard status == 0, let key = try? String(contentsOfFile: path + ".pub", encoding: .utf8) else {
      throw UnexpectedAnswer("ssh-keygen failed (wait status \(status))")
    }
    return key.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// CLOCK_MONOTONIC in seconds.
  private static func wallClock() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }

  /// CPU time of this process's collected children (runc, ssh-keygen, sandbox inits once reaped).
  private static func childrenCPUMicroseconds() -> Int64 {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage) == 0 else { return 0 }
    func micros(_ time: timeval) -> Int64 { Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_usec) }
    return micros(usage.ru_utime) + micros(usage.ru_stime)
  }

  private func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

  private func report(_ levels: [Level], health: HealthCheckResponse?, loadBefore: String?, loadAfter: String?)
    -> String
  {
    func ms(_ nanoseconds: Int64) -> String { String(format: "%.1f", Double(nanoseconds) / 1e6) }
    func ms(_ duration: Duration) -> String { String(format: "%.1f", duration.microseconds / 1000) }
    var lines = [
      "| call | at once | sessions | p50 ms | p90 ms | p99 ms | max ms | mean ms | first ms | cycles/s | CPU ms/cycle (server+client · children) | others' cores |",
      "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for level in levels {
      let seconds = level.wall.microseconds / 1e6
      let rate = String(format: "%.2f", Double(level.creates.count) / max(seconds, 1e-9))
      let count = Double(max(1, level.creates.count))
      let cpu =
        String(format: "%.1f", level.ownCPU.microseconds / 1000 / count) + " · "
        + String(format: "%.1f", level.childrenCPU.microseconds / 1000 / count)
      let others = level.otherCores.map { String(format: "%.2f", $0) } ?? "-"
      for (name, samples, first) in [
        ("CreateSession", level.creates, Optional(level.firstCreate)), ("DeleteSession", level.deletes, nil),
      ] {
        var sorted = samples
        guard let summary = LatencySummary(sorting: &sorted) else { continue }
        let mean = sorted.reduce(0, +) / Int64(sorted.count)
        lines.append(
          "| \(name) | \(level.concurrency) | \(summary.count) | \(ms(summary.p50)) | \(ms(summary.p90)) "
            + "| \(ms(summary.p99)) | \(ms(summary.max)) | \(ms(mean)) | \(first.map { ms($0) } ?? "") "
            + "| \(name == "CreateSession" ? rate : "") | \(name == "CreateSession" ? cpu : "") "
            + "| \(name == "CreateSession" ? others : "") |")
      }
    }
    lines.append("")
    lines.append(
      "Image `\(image)`; \(warmup) unmeasured warm-up cycle(s); banner read through a tunnel after each create: "
        + "\(checkBanner ? "yes" : "no") (not timed). Percentiles are nearest-rank over the level's calls; "
        + "first = the level's first create. CPU per cycle: this process (server and client) · its collected children "
        + "(runc, ssh-keygen, sandbox inits). Others' cores: machine busy time less both, over the level's wall time. "
        + "Load average (1/5/15 min) before: \(loadBefore ?? "-"), after: \(loadAfter ?? "-").")
    if let health { lines.append("Isolation: \(health.isolationMessage)") }
    lines.append("")
    for level in levels {
      lines.append("Leftovers after the \(level.concurrency)-at-once level:")
      if let now = level.leftoversNow { lines.append("- right after the last delete: \(now.summary)") }
      if let settled = level.leftoversSettled {
        lines.append("- \(String(format: "%.1f", settle)) s later: \(settled.summary)")
      }
    }
    return lines.joined(separator: "\n")
  }
}

/// Hands out cycle numbers 0..<total to the workers.
actor CycleCounter {
  private var issued = 0
  let total: Int
  init(total: Int) { self.total = total }

  func next() -> Int? {
    guard issued < total else { return nil }
    issued += 1
    return issued - 1
  }
}
