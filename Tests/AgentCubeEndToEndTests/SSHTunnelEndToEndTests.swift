import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// OpenSSH through `agentcube tunnel` as its ProxyCommand, against `agentcubed` run as a process with
/// the default image (sshd in bubblewrap): the product's example flow.
@Suite(
  "ssh, sftp and port-forward through agentcube tunnels",
  .enabled(if: EndToEnd.canRunOpenSSH, "needs root, bubblewrap, sshd and the OpenSSH client"),
  .enabled(if: access("/usr/bin/sftp", X_OK) == 0, "needs sftp"),
  .timeLimit(.minutes(10))
)
struct SSHTunnelEndToEndTests {
  @Test("session create --ssh-user: SSH lets that account in, which owns the workspace; a bad name is INVALID_ARGUMENT")
  func sshUserOfTheCallersChoice() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession(sshUser: "agent")
      #expect(session.sshUser == "agent")
      let who = try await ssh.run(session, "id -un; stat -c %U /workspace; touch /workspace/mine && echo wrote")
      #expect(who.exitCode == 0 && who.stdout == "agent\nagent\nwrote\n", "\(who)")
      let bad = try await fixture.cli(["session", "create", "--ssh-user", "root:x:0", "--json"])
      #expect(bad.exitCode == 13, "INVALID_ARGUMENT: \(bad)")
      #expect(bad.stderr.contains("ssh_user must be"), "\(bad)")
    }
  }

  @Test("ssh and sftp through the tunnel; after delete an open ssh ends at once and the sandbox is gone")
  func exampleFlow() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      let workspace = "/workspace"

      let whoami = try await ssh.run(session, "whoami")
      #expect(whoami.exitCode == 0 && whoami.stdout == "\(session.sshUser)\n", "\(whoami)")
      let pwd = try await ssh.run(session, "pwd")
      #expect(pwd.stdout == "\(workspace)\n", "\(pwd)")
      let echo = try await ssh.run(session, "echo 'hello through the tunnel'")
      #expect(echo.stdout == "hello through the tunnel\n", "\(echo)")
      let uname = try await ssh.run(session, "uname -a")
      #expect(uname.stdout.hasPrefix("Linux \(session.name) "), "\(uname)")
      let python = try await ssh.run(session, "python3 --version")
      #expect(python.exitCode == 0 && python.stdout.hasPrefix("Python 3."), "\(python)")

      // Upload a script with sftp, run it with ssh, download what it wrote.
      let script = fixture.directory.file("job.sh")
      try """
      #!/bin/sh
      set -eu
      echo "user=$(whoami) dir=$(pwd)" > result.txt
      python3 -c 'print("sum", sum(range(101)))' >> result.txt
      """.write(toFile: script, atomically: true, encoding: .utf8)
      let put = try await ssh.sftp(session, batch: "put \(script) job.sh\n")
      #expect(put.exitCode == 0, "\(put)")
      let job = try await ssh.run(session, "sh job.sh && echo done")
      #expect(job.exitCode == 0 && job.stdout == "done\n", "\(job)")
      let result = fixture.directory.file("result.txt")
      let get = try await ssh.sftp(session, batch: "get result.txt \(result)\n")
      #expect(get.exitCode == 0, "\(get)")
      let downloaded = FileManager.default.contents(atPath: result).map { String(decoding: $0, as: UTF8.self) }
      #expect(downloaded == "user=\(session.sshUser) dir=\(workspace)\nsum 5050\n")

      // An interactive-style session stays open through the tunnel until the sandbox goes away.
      let open = try ssh.start(session, "echo started; exec sleep 600", name: "open")
      try await eventually("the open ssh session to start") {
        open.stdout == "started\n" || !open.isRunning
      }
      try #require(open.isRunning, "ssh ended early: \(open.stderr)")
      #expect(tunnelProcesses(for: session.id).count == 1, "one agentcube tunnel runs as the ProxyCommand")

      let deleted = ContinuousClock.now
      let delete = try await fixture.cli(["session", "delete", session.id])
      #expect(delete.exitCode == 0, "\(delete)")
      let ended = try await open.result(timeout: .seconds(15))
      #expect(ended.exitCode != 0 && ended.exitCode != nil, "\(ended)")
      // The open login ended because the sandbox's processes were killed (there is no stop grace
      // to wait out); how long that took is printed, not asserted: it is the machine's, not ours.
      print(
        "delete took \(delete.duration); the open ssh ended with \(ended.termination)"
          + " \(ContinuousClock.now - deleted) after delete began")
      try await eventually("the ProxyCommand's agentcube tunnel to exit") {
        tunnelProcesses(for: session.id).isEmpty
      }
      #expect(!fixture.recordedSandboxIsRunning(session.id), "the sandbox still runs")
      // A new tunnel is refused: the session is gone (ssh shows the ProxyCommand's error).
      let after = try await ssh.run(session, "echo hello")
      #expect(after.exitCode == 255 && after.stdout.isEmpty, "\(after)")
      #expect(after.stderr.contains("NOT_FOUND"), "\(after)")
    }
  }

  @Test("agentcube ssh --print: the right command line, the host key pinned, without the token, and it works")
  func sshPrint() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      try #require(session.sshHostPublicKey.hasPrefix("ssh-ed25519 "), "the default image reports its host key")
      let token = try developerToken(fixture)
      let sshOptions = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]

      let printed = try await ssh.agentcube(
        ["ssh", "--server", ssh.server, "--token-file", fixture.tokenFile, session.id, "--print", "-i", ssh.key, "--"]
          + sshOptions + ["echo printed; whoami"])
      #expect(printed.exitCode == 0 && printed.stderr.isEmpty, "\(printed)")
      let knownHosts = "\(ssh.home)/.cache/agentcube/known_hosts/\(session.id)"
      let expected =
        "AGENTCUBE_TOKEN_FILE=\(fixture.tokenFile) ssh -o 'ProxyCommand=\(ssh.agentcubePath) tunnel --server \(ssh.server) %h'"
        + " -o HostKeyAlias=\(session.id) -o UserKnownHostsFile=\(knownHosts) -o GlobalKnownHostsFile=/dev/null"
        + " -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -i \(ssh.key) \(session.sshUser)@\(session.id)"
        + " -F /dev/null -o BatchMode=yes -o LogLevel=ERROR 'echo printed; whoami'\n"
      #expect(printed.stdout == expected)
      #expect(!printed.stdout.contains(token) && !printed.stderr.contains(token))
      // The known-hosts file the line names pins the key the session reports; ~/.ssh is not touched.
      #expect(printed.stdout.contains(" -o StrictHostKeyChecking=yes "))
      let named = try #require(
        printed.stdout.firstRange(of: "UserKnownHostsFile=").map {
          printed.stdout[$0.upperBound...].prefix { $0 != " " }
        })
      #expect(String(named) == knownHosts)
      #expect(contents(knownHosts) == "\(session.id) \(session.sshHostPublicKey)\n")
      #expect(!FileManager.default.fileExists(atPath: "\(ssh.home)/.ssh"), "agentcube ssh wrote ~/.ssh")

      // The printed line is a working shell command: ssh accepts the sandbox's key.
      let ran = try await TestProcess.run("/bin/sh", ["-c", printed.stdout], timeout: .seconds(30))
      #expect(ran.exitCode == 0 && ran.stdout == "printed\n\(session.sshUser)\n", "\(ran)")
      // ... and only that key: pinned to another, the same line fails.
      try "\(session.id) \(SSHKnownHostsTests.otherKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
      let mismatch = try await TestProcess.run("/bin/sh", ["-c", printed.stdout], timeout: .seconds(30))
      #expect(mismatch.exitCode == 255 && mismatch.stdout.isEmpty, "\(mismatch)")
      #expect(mismatch.stderr.contains("Host key verification failed"), "\(mismatch)")

      // --token is never printed: the command line comes alone, with a note on stderr.
      let literal = try await ssh.agentcube(
        ["ssh", "--server", ssh.server, "--token", token, session.id, "--print"])
      #expect(literal.exitCode == 0 && !literal.stdout.contains(token) && !literal.stderr.contains(token), "\(literal)")
      #expect(literal.stdout.hasPrefix("ssh -o 'ProxyCommand="), "\(literal)")
      #expect(literal.stderr.contains("AGENTCUBE_TOKEN"), "\(literal)")

      // Without --print it runs ssh, the token reaching the tunnel through the environment.
      for tokenOption in [["--token-file", fixture.tokenFile], ["--token", token]] {
        let direct = try await ssh.agentcube(
          ["ssh", "--server", ssh.server] + tokenOption + [session.id, "-i", ssh.key, "--"] + sshOptions
            + ["echo direct"])
        #expect(direct.exitCode == 0 && direct.stdout == "direct\n", "\(direct)")
      }

      let missing = try await ssh.agentcube(
        ["ssh", "--server", ssh.server, "--token-file", fixture.tokenFile, UUID().uuidString.lowercased(), "--print"])
      #expect(missing.exitCode == 15 && missing.stdout.isEmpty && missing.stderr.contains("NOT_FOUND"), "\(missing)")
    }
  }

  @Test("port-forward to the session's port 22, then ssh -p <local port> user@127.0.0.1")
  func portForward() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      let forward = try fixture.startCLI(["port-forward", session.id, "22"])
      try await eventually("port-forward to listen") {
        listeningPort(forward.stderr) != nil || !forward.isRunning
      }
      let port = listeningPort(forward.stderr) ?? 0
      try #require(port > 0, "port-forward did not listen: \(forward.stderr)")
      #expect(forward.stderr == "Forwarding from 127.0.0.1:\(port) -> 22\n")

      for attempt in 1...2 {
        let ok = try await TestProcess.run(
          "/usr/bin/ssh",
          ssh.commonOptions + ["-p", "\(port)", "\(session.sshUser)@127.0.0.1", "echo ok \(attempt)"],
          timeout: .seconds(30))
        #expect(ok.exitCode == 0 && ok.stdout == "ok \(attempt)\n", "\(ok)")
      }

      // An ssh session open through the forwarder when it stops ends with it.
      let open = try TestProcess.start(
        "/usr/bin/ssh",
        ssh.commonOptions + ["-p", "\(port)", "\(session.sshUser)@127.0.0.1", "echo started; exec sleep 600"],
        outputPrefix: fixture.directory.file("ssh-open"))
      try await eventually("the open ssh session to start") {
        open.stdout == "started\n" || !open.isRunning
      }
      try #require(open.isRunning, "ssh ended early: \(open.stderr)")

      let stopping = ContinuousClock.now
      let stopped = try await forward.stop(signal: SIGTERM, timeout: .seconds(10))
      #expect(stopped.termination == .exited(0), "\(stopped)")
      print("port-forward stopped \(ContinuousClock.now - stopping) after SIGTERM")
      #expect(stopped.stdout.isEmpty, "\(stopped)")
      #expect(!TCPProbe.accepts(address: "127.0.0.1", port: UInt16(port)), "still listening after SIGTERM")
      let ended = try await open.result(timeout: .seconds(10))
      #expect(ended.exitCode == 255, "\(ended)")

      let missing = try await fixture.cli(
        ["port-forward", UUID().uuidString.lowercased(), "22"], timeout: .seconds(20))
      #expect(missing.exitCode == 15 && missing.stderr.contains("NOT_FOUND"), "\(missing)")
    }
  }

  @Test("agentcube tunnel: stdin to the sandbox, the sandbox to stdout, half-close both ways, exit 0")
  func tunnelCommand() async throws {
    try await withDaemon { fixture, _ in
      let create = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
      let session = try create.succeeded(as: CLISession.self)
      let agentcube = try BuiltProducts.executable("agentcube")
      let input = fixture.directory.file("in.bin")
      let output = fixture.directory.file("out.bin")
      // Pipes on both sides (a tunnel needs pollable descriptors). 4 MiB and a reader that starts
      // late: writes to stdout are still queued when the sandbox's side ends, long after stdin's end.
      let pipeline = """
        set -o pipefail
        head -c 4194304 /dev/urandom > '\(input)'
        cat '\(input)' | '\(agentcube)' tunnel --server unix:'\(fixture.socketPath)' --port \(DaemonFixture.echoPort) \
          '\(session.id)' | { sleep 1; cat; } > '\(output)'
        """
      let tunnel = try await TestProcess.run(
        "/bin/bash", ["-c", pipeline], environment: ["AGENTCUBE_TOKEN_FILE": fixture.tokenFile],
        timeout: .seconds(60))
      #expect(tunnel.exitCode == 0 && tunnel.stderr.isEmpty, "\(tunnel)")
      let sent = FileManager.default.contents(atPath: input)
      let received = FileManager.default.contents(atPath: output)
      #expect(sent?.count == 4_194_304)
      #expect(received == sent, "\(received?.count ?? 0) bytes came back")

      // A file or /dev/null cannot carry a tunnel: an error on stderr, nothing on stdout.
      let devNull = try await fixture.cli(["tunnel", session.id, "--port", "\(DaemonFixture.echoPort)"])
      #expect(devNull.exitCode == 1 && devNull.stdout.isEmpty, "\(devNull)")
      #expect(devNull.stderr.contains("pipes, sockets or terminals"), "\(devNull)")

      let refused = try await fixture.cli(["tunnel", UUID().uuidString.lowercased()])
      #expect(refused.exitCode == 15 && refused.stdout.isEmpty && refused.stderr.contains("NOT_FOUND"), "\(refused)")
    }
  }
}

/// The OpenSSH client tools pointed at sessions through `agentcube tunnel`, with a fresh key.
struct OpenSSH {
  let fixture: DaemonFixture
  let key: String
  let agentcubePath: String
  /// The caller's token file: the development token unless another is given.
  let tokenFile: String

  init(fixture: DaemonFixture, tokenFile: String? = nil) async throws {
    self.fixture = fixture
    self.tokenFile = tokenFile ?? fixture.tokenFile
    key = fixture.directory.file("id_ed25519")
    agentcubePath = try BuiltProducts.executable("agentcube")
    let keygen = try await TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])
    try #require(keygen.exitCode == 0, "\(keygen)")
  }

  /// `unix:<socket>`.
  var server: String { "unix:\(fixture.socketPath)" }

  /// Options of every ssh and sftp run: no config, no prompts, no host key checks, this key.
  var commonOptions: [String] {
    [
      "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
      "-o", "LogLevel=ERROR", "-i", key,
    ]
  }

  /// The tunnel as ProxyCommand; the token comes from the environment (``environment``), never this line.
  var proxyOptions: [String] {
    commonOptions + ["-o", "ProxyCommand='\(agentcubePath)' tunnel --server '\(server)' %h"]
  }

  var environment: [String: String] { ["AGENTCUBE_TOKEN_FILE": tokenFile] }

  /// Creates a session of `image` (an OpenSSH one) with the public key.
  func createSession(image: String = "default", sshUser: String? = nil) async throws -> CLISession {
    let create = try await fixture.cli(
      ["session", "create", "--image", image, "--ssh-public-key-file", key + ".pub", "--json", "--token-file", tokenFile]
        + (sshUser.map { ["--ssh-user", $0] } ?? []), token: .none)
    let session = try create.succeeded(as: CLISession.self)
    try #require(session.status == "running" && session.image == image, "\(create)")
    return session
  }

  /// `ssh user@<session id> command` through the tunnel.
  func run(_ session: CLISession, _ command: String) async throws -> ProcessResult {
    try await TestProcess.run(
      "/usr/bin/ssh", proxyOptions + ["\(session.sshUser)@\(session.id)", command], environment: environment,
      timeout: .seconds(30))
  }

  /// Starts `ssh user@<session id> command` through the tunnel without waiting for it.
  func start(_ session: CLISession, _ command: String, name: String) throws -> TestProcess {
    try TestProcess.start(
      "/usr/bin/ssh", proxyOptions + ["\(session.sshUser)@\(session.id)", command], environment: environment,
      outputPrefix: fixture.directory.file("ssh-\(name)"))
  }

  /// `sftp -b <batch>` through the tunnel.
  func sftp(_ session: CLISession, batch: String) async throws -> ProcessResult {
    let file = fixture.directory.file("batch-\(UUID().uuidString.prefix(8))")
    try batch.write(toFile: file, atomically: true, encoding: .utf8)
    return try await TestProcess.run(
      "/usr/bin/sftp", proxyOptions + ["-b", file, "\(session.sshUser)@\(session.id)"], environment: environment,
      timeout: .seconds(30))
  }

  /// A HOME of the fixture's own for `agentcube`, so that its known-hosts files stay in the fixture.
  var home: String { fixture.directory.file("home") }

  /// `agentcube <arguments>` with nothing added, HOME set to ``home``.
  func agentcube(_ arguments: [String]) async throws -> ProcessResult {
    try await TestProcess.run(
      agentcubePath, arguments, environment: ["HOME": home, "XDG_CACHE_HOME": ""], timeout: .seconds(60))
  }
}

/// The file's text, or `nil` when it cannot be read.
private func contents(_ path: String) -> String? {
  FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

/// The port of port-forward's `Forwarding from 127.0.0.1:<port> -> ...` line.
private func listeningPort(_ stderr: String) -> Int? {
  let prefix = "Forwarding from 127.0.0.1:"
  guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return nil }
  return Int(line.dropFirst(prefix.count).prefix { $0.isNumber })
}

/// Pids of running `agentcube ... tunnel ... <id>` processes, from /proc.
private func tunnelProcesses(for sessionID: String) -> [Int32] {
  let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return entries.compactMap { entry -> Int32? in
    guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else {
      return nil
    }
    let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    guard arguments.first?.hasSuffix("/agentcube") == true, arguments.contains("tunnel"),
      arguments.contains(sessionID)
    else { return nil }
    return pid
  }
}
