import AgentCube
import Foundation
import NIOCore
import Glibc
import Synchronization

/// A temporary home for `agentcubed` run as a process, and the `agentcube` CLI pointed at it.
///
/// Everything lives in one short directory under /tmp: `state/` (the state directory, with the
/// development token of the first run), `s.sock` (the Unix socket; TCP only when asked for),
/// `images.json` (adds ``echoImage`` and ``slowEchoImage``) and the output of the daemons. Each
/// fixture has a loopback address pool of its own, so fixtures run in parallel. Several daemons may
/// run one after another on the same state directory (a restart); ``tearDown()`` ends them and
/// every sandbox they started.
///
/// ```swift
/// let fixture = try DaemonFixture()
/// let daemon = try await fixture.startDaemon()
/// let health = try await fixture.cli(["health"])
/// await fixture.tearDown()
/// ```
public final class DaemonFixture: Sendable {
  /// How to start the daemons.
  public struct Options: Sendable {
    /// `--min-ttl`. Default 1.
    public var minTTL = 1
    /// `--reap-interval-ms`. Default 100.
    public var reapIntervalMs = 100
    /// `--drain-grace` in seconds. Default 10 (the daemon's own default).
    public var drainGraceSeconds = 10
    /// `--log-level`. Default `trace`, so that tests see everything the daemon would ever log.
    public var logLevel = "trace"
    /// `--address-pool`; `nil` for a /24 of this fixture's own.
    public var addressPool: String? = nil
    /// `--tcp`. Default `''`: the Unix socket only. `127.0.0.1:0` picks a port; see ``tcpPort(of:)``.
    public var tcp = ""
    /// More daemon arguments.
    public var extraArguments: [String] = []
    /// Run the daemons as this uid and gid (through `setpriv`) instead of the test's own: a server
    /// without root. The fixture's directory is given to that user.
    public var runAs: (uid: UInt32, gid: UInt32)? = nil
    /// Run the daemons with this descriptor limit (soft and hard `RLIMIT_NOFILE`, through `prlimit`).
    public var descriptorLimit: Int? = nil

    public init() {}
  }

  /// The bearer token the CLI sends.
  public enum Token: Sendable {
    /// `--token-file <state>/developer.token`, the development token of the first run.
    case developer
    /// `--token <literal>`.
    case literal(String)
    /// No token at all.
    case none
  }

  /// An image `images.json` adds: socat echoing each connection (`cat`) on port ``echoPort``.
  public static let echoImage = "echo"
  /// Another: the built-in OpenSSH image with small ``smallLimits``, for tests that hit them.
  public static let smallImage = "small"
  /// The limits of ``smallImage``: 96 MiB of memory, 64 processes, a 16 MiB workspace, 8 MiB tmpfs.
  public static let smallLimits = (memory: 96 << 20, processes: 64, workspace: 16 << 20, tmpfs: 8 << 20)
  /// Another: the same after a delay of ``slowStartDelaySeconds``, so that a create stays in flight that long.
  public static let slowEchoImage = "slow-echo"
  /// How long ``slowEchoImage`` takes to serve.
  public static let slowStartDelaySeconds = 2
  /// The port of ``echoImage`` and ``slowEchoImage``.
  public static let echoPort: UInt16 = 7000

  /// The fixture's directory.
  public let directory: TemporaryDirectory
  /// The daemons' options.
  public let options: Options
  /// The loopback range session addresses come from.
  public let addressPool: String
  private let daemons = Mutex<[TestProcess]>([])

  /// `<dir>/state`.
  public var stateDirectory: String { directory.file("state") }
  /// `<dir>/s.sock`.
  public var socketPath: String { directory.file("s.sock") }
  /// `<dir>/state/developer.token`, written by the first start.
  public var tokenFile: String { stateDirectory + "/developer.token" }
  /// `<dir>/images.json`.
  public var imagesFile: String { directory.file("images.json") }

  /// Creates the directory and the images file; starts nothing.
  public init(options: Options = Options()) throws {
    self.options = options
    self.directory = try TemporaryDirectory(prefix: "ace2e")
    self.addressPool = options.addressPool ?? Self.uniqueAddressPool()
    let socat = "/usr/bin/socat TCP-LISTEN:\(Self.echoPort),bind=${AGENTCUBE_ADDRESS},fork,reuseaddr EXEC:/bin/cat"
    let images = """
      {
        "images": {
          "\(Self.echoImage)": {
            "command": [\(socat.split(separator: " ").map { "\"\($0)\"" }.joined(separator: ", "))],
            "port": \(Self.echoPort),
            "readiness": "tcp"
          },
          "\(Self.smallImage)": {
            "builtin": "openssh",
            "limits": {
              "memory_bytes": \(Self.smallLimits.memory), "processes": \(Self.smallLimits.processes),
              "workspace_bytes": \(Self.smallLimits.workspace), "tmpfs_bytes": \(Self.smallLimits.tmpfs)
            }
          },
          "\(Self.slowEchoImage)": {
            "command": ["/bin/sh", "-c", "sleep \(Self.slowStartDelaySeconds); exec \(socat)"],
            "port": \(Self.echoPort),
            "readiness": "tcp"
          }
        }
      }
      """
    guard FileManager.default.createFile(atPath: imagesFile, contents: Data(images.utf8)) else {
      directory.remove()
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: imagesFile])
    }
    if let user = options.runAs {
      for path in [directory.path, imagesFile] { chown(path, user.uid, user.gid) }
      chmod(directory.path, 0o700)
    }
  }

  /// The daemon's command-line arguments.
  public var daemonArguments: [String] {
    [
      "--state-dir", stateDirectory, "--unix-socket", socketPath, "--tcp", options.tcp,
      "--images-file", imagesFile, "--min-ttl", "\(options.minTTL)",
      "--reap-interval-ms", "\(options.reapIntervalMs)", "--drain-grace", "\(options.drainGraceSeconds)",
      "--log-level", options.logLevel,
    ] + options.extraArguments
  }

  /// Starts `agentcubed` and waits, up to `timeout`, until `agentcube health` answers through the
  /// socket; fails at once, with the daemon's output, when it exits before that.
  public func startDaemon(timeout: Duration = .seconds(60)) async throws -> TestProcess {
    let index = daemons.withLock { $0.count }
    let executable = try BuiltProducts.executable("agentcubed")
    // prlimit and setpriv each exec what follows them: the process started is the daemon.
    var command = [executable] + daemonArguments
    if let limit = options.descriptorLimit {
      command = ["/usr/bin/prlimit", "--nofile=\(limit):\(limit)", "--"] + command
    }
    let daemon =
      if let user = options.runAs {
        try TestProcess.start(
          "/usr/bin/setpriv", ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups"] + command,
          environment: ["HOME": directory.path], outputPrefix: directory.file("daemon-\(index)"))
      } else {
        try TestProcess.start(command[0], Array(command.dropFirst()), outputPrefix: directory.file("daemon-\(index)"))
      }
    daemons.withLock { $0.append(daemon) }
    let deadline = ContinuousClock.now + timeout
    while true {
      if !daemon.isRunning {
        throw DaemonFailed(description: "agentcubed exited while starting (\(daemon.termination!))\n\(daemon.stderr)")
      }
      let health = try await cli(["health"], token: .none, timeout: .seconds(10))
      if health.exitCode == 0 { return daemon }
      guard ContinuousClock.now < deadline else {
        throw DaemonFailed(
          description:
            "agentcubed did not answer health within \(timeout): \(health)\n--- daemon stderr:\n\(daemon.stderr)")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  /// The TCP port `daemon` listens on, from its `listening` log line (`tcp_port=N`), or `nil`.
  public func tcpPort(of daemon: TestProcess) -> Int? {
    guard let line = daemon.stderr.split(separator: "\n").first(where: { $0.contains("listening") }),
      let range = line.firstRange(of: "tcp_port=")
    else { return nil }
    return Int(line[range.upperBound...].prefix { $0.isNumber })
  }

  /// Every daemon started so far, oldest first.
  public var startedDaemons: [TestProcess] { daemons.withLock { $0 } }

  /// Everything every daemon printed so far (stdout and stderr).
  public var daemonOutput: String { startedDaemons.map { $0.stdout + $0.stderr }.joined() }

  /// Runs `agentcube <arguments> --server unix:<socket>` plus the token option, bounded by `timeout`,
  /// with `environment` added to the test's own (see ``TestProcess``).
  public func cli(
    _ arguments: [String], server: String? = nil, token: Token = .developer, environment: [String: String] = [:],
    timeout: Duration = .seconds(90)
  ) async throws -> ProcessResult {
    var result = try await TestProcess.run(
      try BuiltProducts.executable("agentcube"), cliArguments(arguments, server: server, token: token),
      environment: environment, timeout: timeout)
    // A failed call's cause is often only in the server's log (an INTERNAL error says nothing more).
    if result.exitCode != 0 { result.context = "--- the daemons' warnings and errors:\n\(daemonWarnings)" }
    return result
  }

  /// The warning, error and critical lines every daemon logged so far (the last 40), for failure
  /// messages. The daemon never logs a token, so they are safe to print.
  public var daemonWarnings: String {
    let levels = [" warning ", " error ", " critical "]
    let lines = daemonOutput.split(separator: "\n").filter { line in levels.contains { line.contains($0) } }
    return lines.suffix(40).joined(separator: "\n")
  }

  /// Starts what ``cli(_:server:token:timeout:)`` runs, without waiting; its output goes to the fixture's directory.
  public func startCLI(_ arguments: [String], server: String? = nil, token: Token = .developer) throws -> TestProcess {
    let index = Self.cliCounter.wrappingAdd(1, ordering: .relaxed).oldValue
    return try TestProcess.start(
      try BuiltProducts.executable("agentcube"), cliArguments(arguments, server: server, token: token),
      outputPrefix: directory.file("cli-\(index)"))
  }

  private func cliArguments(_ arguments: [String], server: String?, token: Token) -> [String] {
    var all = arguments + ["--server", server ?? "unix:\(socketPath)"]
    switch token {
    case .developer: all += ["--token-file", tokenFile]
    case .literal(let token): all += ["--token", token]
    case .none: break
    }
    return all
  }

  /// ``stopAll()`` and ``remove()``. Never throws: it is the cleanup of tests that may have failed anywhere.
  public func tearDown() async {
    _ = await stopAll()
    remove()
  }

  /// Ends every session (through the running daemon, else by killing the sandboxes recorded in the
  /// state directory) and stops every daemon still running (SIGTERM, SIGKILL when it does not end
  /// within the drain grace and 10 s more); returns how each daemon it stopped ended.
  public func stopAll() async -> [ProcessResult] {
    if let daemon = startedDaemons.last, daemon.isRunning {
      await deleteAllSessions()
    }
    var results: [ProcessResult] = []
    for daemon in startedDaemons where daemon.isRunning {
      do {
        results.append(try await daemon.stop(timeout: .seconds(Int64(options.drainGraceSeconds) + 10)))
      } catch {
        // Killed after the timeout (or could not be waited for): report it as its end.
        results.append(
          ProcessResult(
            command: daemon.command, termination: daemon.termination ?? .signaled(SIGKILL), stdout: daemon.stdout,
            stderr: daemon.stderr + "\n(test support: \(error))\n", duration: .zero))
      }
    }
    killRecordedSandboxes()
    return results
  }

  /// Removes the directory.
  public func remove() {
    directory.remove()
  }

  /// Deletes every session the developer token sees, through the CLI.
  public func deleteAllSessions() async {
    guard let list = try? await cli(["session", "list", "--all", "--json"]), list.exitCode == 0,
      let sessions = try? list.decode(CLISessionList.self).sessions
    else { return }
    for session in sessions {
      _ = try? await cli(["session", "delete", session.id])
    }
  }

  /// Whether runc still runs the sandbox of session `id` (`runc state` in the state directory).
  public func recordedSandboxIsRunning(_ id: String) -> Bool {
    let runc = Process()
    runc.executableURL = URL(fileURLWithPath: "/usr/sbin/runc")
    runc.arguments = ["--root", stateDirectory + "/runc", "state", id]
    let output = Pipe()
    runc.standardOutput = output
    runc.standardError = FileHandle.nullDevice
    guard (try? spawnLock.withLock({ _ in try runc.run() })) != nil else { return false }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    runc.waitUntilExit()
    return runc.terminationStatus == 0 && String(decoding: data, as: UTF8.self).contains("\"status\": \"running\"")
  }

  /// The first line of `/proc/<init>/uid_map` of every sandbox recorded in the state directory,
  /// spaces squeezed: `0 <first host uid> <count>`.
  public func recordedSandboxUIDMaps() -> [String] {
    let records = stateDirectory + "/sessions"
    var maps: [String] = []
    for name in (try? FileManager.default.contentsOfDirectory(atPath: records)) ?? [] where name.hasSuffix(".json") {
      guard let data = FileManager.default.contents(atPath: records + "/" + name),
        let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let process = record["process"] as? [String: Any], let pid = (process["pid"] as? NSNumber)?.int32Value,
        let map = try? String(contentsOfFile: "/proc/\(pid)/uid_map", encoding: .utf8)
      else { continue }
      let first = map.split(separator: "\n").first ?? ""
      maps.append(first.split(separator: " ").joined(separator: " "))
    }
    return maps
  }

  /// Sends `message` through an OpenTunnel to `port` of the session (the SDK, with the developer
  /// token), half-closes, and returns what comes back until the sandbox side closes; `nil` when
  /// the tunnel cannot be opened or does not end within `timeout`.
  public func tunnelExchange(
    sessionID: String, port: UInt32, message: String, timeout: Duration = .seconds(10)
  ) async -> String? {
    let client = AgentCubeClient(target: .unixSocket(path: socketPath), token: .file(tokenFile))
    defer { Task { await client.close() } }
    return try? await client.sessions.withTunnel(sessionID: sessionID, port: port) { tunnel in
      try await tunnel.outbound.write(ByteBuffer(string: message))
      tunnel.outbound.finish()
      return try await withTimeout(timeout, "the tunnel's end") {
        var received = ""
        for try await chunk in tunnel.inbound { received += String(buffer: chunk) }
        return received
      }
    }
  }

  /// Kills every sandbox still recorded in `<state>/sessions` (its init: the pid namespace ends
  /// with it) and has runc remove it: what a daemon leaves running when it stops.
  private func killRecordedSandboxes() {
    let records = stateDirectory + "/sessions"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: records)) ?? [] where name.hasSuffix(".json") {
      guard let data = FileManager.default.contents(atPath: records + "/" + name),
        let record = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
        let process = record["process"] as? [String: Any], let pid = (process["pid"] as? NSNumber)?.int32Value,
        let startTime = (process["startTime"] as? NSNumber)?.uint64Value, pid > 1,
        Self.startTime(of: pid) == startTime
      else { continue }
      kill(pid, SIGKILL)
      let runc = Process()
      runc.executableURL = URL(fileURLWithPath: "/usr/sbin/runc")
      runc.arguments = ["--root", stateDirectory + "/runc", "delete", "--force", String(name.dropLast(5))]
      runc.standardOutput = FileHandle.nullDevice
      runc.standardError = FileHandle.nullDevice
      if (try? spawnLock.withLock({ _ in try runc.run() })) != nil { runc.waitUntilExit() }
    }
  }

  /// Field 22 of `/proc/<pid>/stat`, so that a recycled pid is never signalled.
  private static func startTime(of pid: Int32) -> UInt64? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
    let text = String(decoding: data, as: UTF8.self)
    // The command name (field 2) may hold spaces and parentheses; fields after it follow the last ')'.
    guard let end = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: end)...].split(separator: " ")
    return fields.count > 19 ? UInt64(fields[19]) : nil
  }

  private static let poolCounter = Atomic<Int>(0)
  private static let cliCounter = Atomic<Int>(0)

  /// `127.N.M.0/24`, distinct for each call in this test process (up to 256); N (10...69) comes
  /// from the pid, away from the daemon's default 127.77/16 and the local backend tests' 127.100-250.
  public static func uniqueAddressPool() -> String {
    let count = poolCounter.wrappingAdd(1, ordering: .relaxed).oldValue
    return "127.\(10 + Int(getpid()) % 60).\(count % 256).0/24"
  }
}

/// The daemon did not start.
public struct DaemonFailed: Error, CustomStringConvertible {
  public var description: String
}
