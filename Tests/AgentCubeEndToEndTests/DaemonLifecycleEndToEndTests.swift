import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// `agentcubed` as a process: its first run, signals, restarts on the same state directory, and
/// the reaper.
@Suite(
  "agentcubed lifecycle",
  .enabled(if: EndToEnd.hasSocat, "the test image runs /usr/bin/socat"),
  .timeLimit(.minutes(10))
)
struct DaemonLifecycleEndToEndTests {
  @Test("the first run writes a 0600 development token that is never logged, and keeps it across restarts")
  func developmentToken() async throws {
    try await withDaemon { fixture, daemon in
      let token = try developerToken(fixture)
      #expect(token.utf8.count == 64 && token.allSatisfy(\.isHexDigit), "token shape")
      #expect(try mode(of: fixture.tokenFile) == 0o600)
      let tokensCSV = fixture.stateDirectory + "/tokens.csv"
      #expect(try mode(of: tokensCSV) == 0o600)
      // Searchable by others (a sandbox's root is another host uid), not listable or writable.
      #expect(try mode(of: fixture.stateDirectory) == 0o711)
      #expect(try mode(of: fixture.stateDirectory + "/sessions") == 0o700)
      let csv = String(decoding: FileManager.default.contents(atPath: tokensCSV) ?? Data(), as: UTF8.self)
      #expect(csv.contains("\(token),\(EndToEnd.developer),"))
      // The log names the files, never the token.
      #expect(daemon.stderr.contains(fixture.tokenFile), "\(daemon.stderr)")
      #expect(!daemon.stderr.contains(token) && !daemon.stdout.contains(token))
      // The token works.
      let list = try await fixture.cli(["session", "list", "--json"])
      #expect(list.exitCode == 0, "\(list)")

      let stopped = try await daemon.stop(timeout: .seconds(20))
      #expect(stopped.termination == .exited(0), "\(stopped)")
      let again = try await fixture.startDaemon()
      #expect(try developerToken(fixture) == token, "a restart must keep the token")
      #expect(!again.stderr.contains("created a development token"), "\(again.stderr)")
      #expect(!again.stderr.contains(token))
    }
  }

  @Test("a restart re-adopts running sessions; SIGTERM exits 0 within the drain grace")
  func restartReadopts() async throws {
    // A grace no busy machine's stop reaches: ending sooner shows that nothing waited for it.
    var options = DaemonFixture.Options()
    options.drainGraceSeconds = 30
    try await withDaemon(options) { fixture, first in
      let created = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
        .succeeded(as: CLISession.self)

      let signalled = ContinuousClock.now
      let stopped = try await first.stop(signal: SIGTERM, timeout: .seconds(Int64(options.drainGraceSeconds) + 5))
      // When the daemon exited (seen by the thread waiting for it), not when this task ran again.
      let took = (first.endedAt ?? .now) - signalled
      #expect(stopped.termination == .exited(0), "\(stopped)")
      #expect(took < .seconds(options.drainGraceSeconds), "took \(took)")
      #expect(!FileManager.default.fileExists(atPath: fixture.socketPath), "socket file left behind")
      // Without a server the sandbox keeps serving.
      #expect(fixture.recordedSandboxIsRunning(created.id))

      let second = try await fixture.startDaemon()
      let got = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(got == created, "the same session, re-adopted")
      #expect(second.stderr.contains("session re-adopted"), "\(second.stderr)")
      let back = await fixture.tunnelExchange(sessionID: created.id, port: UInt32(DaemonFixture.echoPort), message: "back\n")
      #expect(back == "back\n")

      // The new daemon owns it: delete ends the sandbox.
      let delete = try await fixture.cli(["session", "delete", created.id])
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(!fixture.recordedSandboxIsRunning(created.id))
    }
  }

  /// How a session is made to end by itself.
  struct Expiry: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    var testDescription: String { name }
  }

  @Test(
    "the reaper ends a session when its TTL or idle timeout passes",
    arguments: [
      Expiry(name: "ttl 1 s", arguments: ["--ttl", "1"]),
      Expiry(name: "idle timeout 1 s", arguments: ["--ttl", "600", "--idle-timeout", "1"]),
    ])
  func reaping(_ expiry: Expiry) async throws {
    try await withDaemon { fixture, _ in
      let created = try await fixture.cli(
        ["session", "create", "--image", DaemonFixture.echoImage, "--json"] + expiry.arguments
      ).succeeded(as: CLISession.self)
      #expect(created.status == "running")

      try await eventually(every: .milliseconds(100), "session get to fail with NOT_FOUND") {
        try await fixture.cli(["session", "get", created.id]).exitCode == 15
      }
      // Not only hidden: the reaper ends the sandbox and removes its files and record.
      let sandbox = "\(fixture.stateDirectory)/sandboxes/\(created.id)"
      let record = "\(fixture.stateDirectory)/sessions/\(created.id).json"
      try await eventually(every: .milliseconds(100), "the reaper to end the sandbox") {
        !fixture.recordedSandboxIsRunning(created.id) && !FileManager.default.fileExists(atPath: sandbox) && !FileManager.default.fileExists(atPath: record)
      }
      let list = try await fixture.cli(["session", "list", "--json"]).succeeded(as: CLISessionList.self)
      #expect(list.sessions.isEmpty)
    }
  }

  @Test("after SIGKILL a new daemon replaces the stale socket and re-adopts the sessions")
  func restartAfterCrash() async throws {
    try await withDaemon { fixture, first in
      let created = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
        .succeeded(as: CLISession.self)
      #expect(try await first.kill() == .signaled(SIGKILL))
      #expect(FileManager.default.fileExists(atPath: fixture.socketPath), "the killed daemon's socket file stays")

      _ = try await fixture.startDaemon()
      let got = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(got == created)
      let ok = await fixture.tunnelExchange(sessionID: created.id, port: UInt32(DaemonFixture.echoPort), message: "ok\n")
      #expect(ok == "ok\n")
    }
  }

  @Test("SIGTERM during a create lets the call finish, then exits 0; the session survives the restart")
  func drainsCallInFlight() async throws {
    // The create must end inside the grace: on a machine running every other test at once a
    // sandbox start has taken over 10 s, so a grace no create reaches; ending sooner still shows
    // that the daemon waited for the call, not for the grace.
    var options = DaemonFixture.Options()
    options.drainGraceSeconds = 60
    try await withDaemon(options) { fixture, first in
      let create = try fixture.startCLI(["session", "create", "--image", DaemonFixture.slowEchoImage, "--json"])
      // The sandbox directory exists from the moment the backend starts the sandbox.
      let sandboxes = fixture.stateDirectory + "/sandboxes"
      try await eventually("the create to reach the backend") {
        !((try? FileManager.default.contentsOfDirectory(atPath: sandboxes)) ?? []).isEmpty
      }
      let signalled = ContinuousClock.now
      let stopped = try await first.stop(signal: SIGTERM, timeout: .seconds(Int64(options.drainGraceSeconds) + 5))
      // When the daemon exited (seen by the thread waiting for it), not when this task ran again.
      let took = (first.endedAt ?? .now) - signalled
      #expect(stopped.termination == .exited(0), "\(stopped)")
      #expect(took < .seconds(options.drainGraceSeconds), "took \(took)")

      let result = try await create.result(timeout: .seconds(20))
      let created = try result.succeeded(as: CLISession.self)
      #expect(created.status == "running" && created.image == DaemonFixture.slowEchoImage)

      _ = try await fixture.startDaemon()
      let got = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(got == created)
    }
  }

  @Test("a second daemon on a state directory in use refuses to start")
  func secondDaemonOnSameStateDirectory() async throws {
    try await withDaemon { fixture, _ in
      let created = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
        .succeeded(as: CLISession.self)
      let secondSocket = fixture.directory.file("second.sock")
      var arguments = fixture.daemonArguments
      arguments[try #require(arguments.firstIndex(of: "--unix-socket")) + 1] = secondSocket
      let second = try TestProcess.start(
        try BuiltProducts.executable("agentcubed"), arguments, outputPrefix: fixture.directory.file("second"))
      // Either it exits (right) or it serves (wrong); wait for one of the two.
      try await eventually("the second daemon to exit or serve") {
        if !second.isRunning { return true }
        return try await fixture.cli(["health"], server: "unix:\(secondSocket)", token: .none).exitCode == 0
      }
      // The state directory's lock makes the second daemon exit before it touches any session.
      #expect(!second.isRunning, "a second daemon serves \(fixture.stateDirectory)")
      #expect(second.termination != .exited(0))
      if second.isRunning {
        let stopped = try await second.stop(timeout: .seconds(20))
        #expect(stopped.termination == .exited(0), "\(stopped)")
      }
      let got = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(got == created, "the first daemon's session is untouched")
    }
  }

  @Test(
    "a signal while idle stops the daemon promptly with exit 0 and removes the socket", arguments: [SIGTERM, SIGINT])
  func gracefulStop(signal: Int32) async throws {
    try await withDaemon { fixture, daemon in
      #expect(FileManager.default.fileExists(atPath: fixture.socketPath))
      let signalled = ContinuousClock.now
      let stopped = try await daemon.stop(signal: signal, timeout: .seconds(15))
      // When the daemon exited (seen by the thread waiting for it), not when this task ran again.
      let took = (daemon.endedAt ?? .now) - signalled
      #expect(stopped.termination == .exited(0), "\(stopped)")
      // Nothing is in flight: stopping does not wait out the drain grace.
      #expect(took < .seconds(fixture.options.drainGraceSeconds), "took \(took)")
      #expect(!FileManager.default.fileExists(atPath: fixture.socketPath), "socket file left behind")
      let health = try await fixture.cli(["health"], token: .none)
      #expect(health.exitCode == 24, "\(health)")
    }
  }

  private func mode(of path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require(attributes[.posixPermissions] as? Int) & 0o777
  }
}
