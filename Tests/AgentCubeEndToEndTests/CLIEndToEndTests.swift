import AgentCubeTestSupport
import Foundation
import Testing

/// `agentcube` run as a process against `agentcubed` run as a process, over a Unix socket.
@Suite(
  "agentcube against a running agentcubed",
  .enabled(if: EndToEnd.hasSocat, "the test image runs /usr/bin/socat"),
  .timeLimit(.minutes(10))
)
struct CLIEndToEndTests {
  @Test("health answers as text and as JSON, with or without a token")
  func health() async throws {
    try await withDaemon { fixture, _ in
      let text = try await fixture.cli(["health"], token: .none)
      #expect(text.exitCode == 0, "\(text)")
      let lines = fields(text.stdout)
      #expect(lines["status"] == "serving", "\(text)")
      #expect(lines["backend"] == "local", "\(text)")
      #expect(lines["version"]?.isEmpty == false, "\(text)")
      #expect(text.stderr.isEmpty, "\(text)")

      let json = try await fixture.cli(["health", "--json"])
      let health = try json.succeeded(as: CLIHealth.self)
      #expect(health.status == "serving" && health.backend == "local" && health.version == lines["version"])
      #expect(lines["isolated"]?.hasPrefix(health.isolated ? "yes" : "no") == true, "\(text)")
      #expect(json.stderr.isEmpty, "\(json)")
    }
  }

  @Test("create, get, renew, delete; get after delete is NOT_FOUND (exit 15)")
  func lifecycle() async throws {
    try await withDaemon { fixture, _ in
      let create = try await fixture.cli([
        "session", "create", "--image", DaemonFixture.echoImage, "--ttl", "60", "--json",
      ])
      let created = try create.succeeded(as: CLISession.self)
      #expect(created.status == "running" && created.image == DaemonFixture.echoImage, "\(create)")
      #expect(created.creator == EndToEnd.developer && created.ttlSeconds == 60, "\(create)")
      #expect(created.sshPort == DaemonFixture.echoPort, "\(create)")
      #expect(created.address.isEmpty, "a sandbox has no address on the host's network: \(create)")
      // The sandbox serves inside its own network: socat hands the tunnel to cat, which echoes it.
      let echo = await fixture.tunnelExchange(sessionID: created.id, port: UInt32(DaemonFixture.echoPort), message: "ping\n")
      #expect(echo == "ping\n")

      let got = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(got == created)
      let text = try await fixture.cli(["session", "get", created.id])
      #expect(text.exitCode == 0, "\(text)")
      #expect(fields(text.stdout)["id"] == created.id && fields(text.stdout)["status"] == "running", "\(text)")
      #expect(fields(text.stdout)["ssh"] == "-", "no address to ssh to but through a tunnel: \(text)")

      let renew = try await fixture.cli(["session", "renew", created.id, "--ttl", "600", "--json"])
      let renewed = try renew.succeeded(as: CLISession.self)
      #expect(renewed.id == created.id && renewed.ttlSeconds == 600, "\(renew)")
      // From ~60 s after creation to ~600 s after the renewal: at least 500 s later.
      #expect(renewed.expiresAtMs >= created.expiresAtMs + 500_000, "\(created.expiresAtMs) -> \(renewed.expiresAtMs)")
      let afterRenew = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(afterRenew.expiresAtMs == renewed.expiresAtMs && afterRenew.ttlSeconds == 600)

      let delete = try await fixture.cli(["session", "delete", created.id])
      #expect(delete.exitCode == 0 && delete.stdout == "deleted session \(created.id)\n", "\(delete)")
      // Delete returns once the sandbox is gone.
      #expect(!TCPProbe.accepts(address: created.address, port: DaemonFixture.echoPort))

      let gone = try await fixture.cli(["session", "get", created.id])
      #expect(gone.exitCode == 15, "\(gone)")
      #expect(gone.stderr == "error: NOT_FOUND: session \(created.id) not found\n", "\(gone)")
      #expect(gone.stdout.isEmpty, "\(gone)")
      let again = try await fixture.cli(["session", "delete", created.id])
      #expect(again.exitCode == 15 && again.stderr.hasPrefix("error: NOT_FOUND: "), "\(again)")
    }
  }

  @Test("list pages with --page-size 1, and --all follows every page")
  func listPaging() async throws {
    try await withDaemon { fixture, _ in
      var ids: [String] = []
      for _ in 0..<3 {
        let create = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
        ids.append(try create.succeeded(as: CLISession.self).id)
      }

      let all = try await fixture.cli(["session", "list", "--page-size", "1", "--all", "--json"])
      let merged = try all.succeeded(as: CLISessionList.self)
      #expect(merged.sessions.map(\.id) == ids, "oldest first: \(all)")
      #expect(merged.sessions.allSatisfy { $0.status == "running" })
      #expect(merged.nextPageToken.isEmpty)

      // Page by page by hand.
      var seen: [String] = []
      var token = ""
      for page in 1...3 {
        let arguments =
          ["session", "list", "--page-size", "1", "--json"] + (token.isEmpty ? [] : ["--page-token", token])
        let list = try await fixture.cli(arguments).succeeded(as: CLISessionList.self)
        #expect(list.sessions.count == 1)
        seen += list.sessions.map(\.id)
        token = list.nextPageToken
        #expect(token.isEmpty == (page == 3), "page \(page) next_page_token '\(token)'")
        if token.isEmpty { break }
      }
      #expect(seen == ids)

      let table = try await fixture.cli(["session", "list"])
      #expect(table.exitCode == 0, "\(table)")
      let rows = table.stdout.split(separator: "\n")
      #expect(rows.first?.hasPrefix("ID ") == true && rows.count == 4, "\(table)")
      #expect(ids.allSatisfy { id in rows.contains { $0.hasPrefix(id) } }, "\(table)")
    }
  }

  @Test("the CLI reaches the daemon over loopback TCP as well")
  func overTCP() async throws {
    var options = DaemonFixture.Options()
    options.tcp = "127.0.0.1:0"
    try await withDaemon(options) { fixture, daemon in
      let port = try #require(fixture.tcpPort(of: daemon), "no tcp_port in the log:\n\(daemon.stderr)")
      let server = "127.0.0.1:\(port)"
      let health = try await fixture.cli(["health", "--json"], server: server, token: .none)
      #expect(try health.succeeded(as: CLIHealth.self).status == "serving")

      let create = try await fixture.cli(
        ["session", "create", "--image", DaemonFixture.echoImage, "--json"], server: server)
      let created = try create.succeeded(as: CLISession.self)
      let viaUnix = try await fixture.cli(["session", "get", created.id, "--json"]).succeeded(as: CLISession.self)
      #expect(viaUnix == created)
      let wrongToken = try await fixture.cli(["session", "list"], server: server, token: .literal("not-the-token"))
      #expect(wrongToken.exitCode == 26 && wrongToken.stderr.hasPrefix("error: UNAUTHENTICATED: "), "\(wrongToken)")
      let delete = try await fixture.cli(["session", "delete", created.id], server: server)
      #expect(delete.exitCode == 0, "\(delete)")
    }
  }

  @Test("ssh refuses a session without a host key (exit 64) unless --insecure-ignore-host-key; HOME stays untouched")
  func sshWithoutHostKey() async throws {
    try await withDaemon { fixture, _ in
      let create = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
      let created = try create.succeeded(as: CLISession.self)
      try #require(created.sshHostPublicKey.isEmpty, "the echo image runs no sshd, so it has no host key: \(create)")
      let home = fixture.directory.file("home")
      try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
      let environment = ["HOME": home, "XDG_CACHE_HOME": ""]

      for arguments in [["ssh", created.id, "--print"], ["ssh", created.id]] {
        let refused = try await fixture.cli(arguments, environment: environment)
        #expect(refused.exitCode == 64 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.contains("session \(created.id) reports no SSH host key"), "\(refused)")
        #expect(refused.stderr.contains("--insecure-ignore-host-key"), "\(refused)")
      }

      let insecure = try await fixture.cli(
        ["ssh", created.id, "--print", "--insecure-ignore-host-key"], environment: environment)
      #expect(insecure.exitCode == 0, "\(insecure)")
      #expect(
        insecure.stdout.contains(
          " %h' -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \(created.sshUser)@"),
        "\(insecure)")
      #expect(!insecure.stdout.contains("HostKeyAlias"), "\(insecure)")
      #expect(insecure.stderr == "warning: --insecure-ignore-host-key: the sandbox's SSH host key is not checked\n")

      #expect(try FileManager.default.contentsOfDirectory(atPath: home).isEmpty, "something was written under HOME")
    }
  }

  /// A call that fails: its arguments, token and server, and the exit code and message it must give.
  struct Failure: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    var token: DaemonFixture.Token = .developer
    /// `nil`: the fixture's socket; `missing`: a socket path where nothing listens.
    var server: String? = nil
    var exitCode: Int32
    var status: String
    var testDescription: String { name }
  }

  static let failures: [Failure] = [
    Failure(
      name: "wrong token", arguments: ["session", "list"], token: .literal("0123456789abcdef-not-the-token"),
      exitCode: 26, status: "UNAUTHENTICATED"),
    Failure(name: "no token", arguments: ["session", "list"], token: .none, exitCode: 26, status: "UNAUTHENTICATED"),
    Failure(
      name: "TTL above the maximum",
      arguments: ["session", "create", "--image", DaemonFixture.echoImage, "--ttl", "999999"],
      exitCode: 13, status: "INVALID_ARGUMENT"),
    Failure(
      name: "unknown image", arguments: ["session", "create", "--image", "no-such-image"], exitCode: 13,
      status: "INVALID_ARGUMENT"),
    Failure(
      name: "unknown session", arguments: ["session", "get", "00000000-0000-4000-8000-000000000000"], exitCode: 15,
      status: "NOT_FOUND"),
    Failure(
      name: "no server at the path", arguments: ["health"], server: "missing", exitCode: 24, status: "UNAVAILABLE"),
    Failure(
      name: "no server at the path, with a token", arguments: ["session", "list"], server: "missing", exitCode: 24,
      status: "UNAVAILABLE"),
  ]

  @Test("failed calls exit 10 + status with 'error: STATUS: ...' on stderr", arguments: failures)
  func failure(_ failure: Failure) async throws {
    try await withDaemon { fixture, _ in
      let server = failure.server.map { $0 == "missing" ? "unix:\(fixture.directory.file("missing.sock"))" : $0 }
      let result = try await fixture.cli(failure.arguments, server: server, token: failure.token)
      #expect(result.exitCode == failure.exitCode, "\(result)")
      #expect(result.stderr.hasPrefix("error: \(failure.status): "), "\(result)")
      #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result)")
      #expect(result.stdout.isEmpty, "\(result)")
      if case .literal(let token) = failure.token {
        #expect(!result.stderr.contains(token) && !result.stdout.contains(token), "the CLI printed the token")
      }
      // Nothing was created on the way.
      let list = try await fixture.cli(["session", "list", "--json"]).succeeded(as: CLISessionList.self)
      #expect(list.sessions.isEmpty)
    }
  }
}
