import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// `agentcubed` as operators expose it: TLS and mutual TLS on TCP, the refusal of plain TCP off
/// loopback, the Unix socket's mode and group; driven by `agentcube` through the same flags.
@Suite("agentcubed exposed: TLS, mutual TLS, socket permissions", .timeLimit(.minutes(10)))
struct ExposedDaemonEndToEndTests {
  @Test("plain TCP on a non-loopback address is refused unless --allow-insecure-tcp")
  func plainTCPOffLoopback() async throws {
    var options = DaemonFixture.Options()
    options.tcp = "0.0.0.0:0"
    let refused = try DaemonFixture(options: options)
    defer { refused.remove() }
    let result = try await TestProcess.run(try BuiltProducts.executable("agentcubed"), refused.daemonArguments)
    #expect(result.exitCode == 64, "\(result)")
    #expect(result.stderr.contains("--allow-insecure-tcp"), "\(result)")
    #expect(!FileManager.default.fileExists(atPath: refused.socketPath), "nothing was bound")

    options.extraArguments = ["--allow-insecure-tcp"]
    try await withDaemon(options) { fixture, daemon in
      #expect(fixture.tcpPort(of: daemon) != nil)
      #expect(daemon.stderr.contains("plain TCP on a non-loopback address"), "\(daemon.stderr)")
    }
  }

  @Test("TLS: agentcube reaches tls://HOST:PORT with --ca-file or AGENTCUBE_CA_FILE; a wrong CA is refused")
  func tlsWithTheCLI() async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("ca")
    let server = try await certificates.issueLoopbackServer("server", signedBy: ca)
    var options = DaemonFixture.Options()
    options.tcp = "127.0.0.1:0"
    options.extraArguments = ["--tls-cert", server.certificate, "--tls-key", server.key]
    try await withDaemon(options) { fixture, daemon in
      let port = try #require(fixture.tcpPort(of: daemon))
      #expect(daemon.stderr.contains("tcp_security=tls"), "\(daemon.stderr)")
      let target = "tls://127.0.0.1:\(port)"
      let flag = try await fixture.cli(["health", "--ca-file", ca.certificate], server: target, token: .none)
      #expect(flag.exitCode == 0, "\(flag)")
      let env = try await fixture.cli(["health"], server: target, token: .none, environment: ["AGENTCUBE_CA_FILE": ca.certificate])
      #expect(env.exitCode == 0, "\(env)")
      let list = try await fixture.cli(["session", "list", "--ca-file", ca.certificate], server: "tls://localhost:\(port)")
      #expect(list.exitCode == 0, "\(list)")

      let other = try await certificates.makeCA("other")
      let wrong = try await fixture.cli(["health", "--ca-file", other.certificate], server: target, token: .none)
      #expect(wrong.exitCode == 24, "UNAVAILABLE exits 10 + 14: \(wrong)")
      #expect(wrong.stderr.contains("CERTIFICATE_VERIFY_FAILED"), "\(wrong)")
      // The TLS listener does not speak plain TCP.
      let plain = try await fixture.cli(["health"], server: "127.0.0.1:\(port)", token: .none, timeout: .seconds(30))
      #expect(plain.exitCode == 24, "\(plain)")
    }
  }

  @Test("mutual TLS: the client certificate is required and its subject is in the request log")
  func mutualTLSWithTheCLI() async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("ca")
    let server = try await certificates.issueLoopbackServer("server", signedBy: ca)
    let clientCA = try await certificates.makeCA("client-ca")
    let agent = try await certificates.issue("agent", subject: "/O=Example/CN=agent-7", signedBy: clientCA)
    var options = DaemonFixture.Options()
    options.tcp = "127.0.0.1:0"
    options.extraArguments = [
      "--tls-cert", server.certificate, "--tls-key", server.key, "--tls-client-ca", clientCA.certificate,
    ]
    try await withDaemon(options) { fixture, daemon in
      let target = "tls://127.0.0.1:\(try #require(fixture.tcpPort(of: daemon)))"
      #expect(daemon.stderr.contains("tcp_security=mutual-tls"), "\(daemon.stderr)")
      let without = try await fixture.cli(["session", "list", "--ca-file", ca.certificate], server: target)
      #expect(without.exitCode == 24, "\(without)")

      let with = try await fixture.cli(
        ["session", "list", "--ca-file", ca.certificate, "--client-cert", agent.certificate, "--client-key", agent.key],
        server: target)
      #expect(with.exitCode == 0, "\(with)")
      let byEnvironment = try await fixture.cli(
        ["session", "list"], server: target,
        environment: [
          "AGENTCUBE_CA_FILE": ca.certificate, "AGENTCUBE_CLIENT_CERT": agent.certificate, "AGENTCUBE_CLIENT_KEY": agent.key,
        ])
      #expect(byEnvironment.exitCode == 0, "\(byEnvironment)")
      try await eventually("the call's log line") {
        daemon.stderr.split(separator: "\n").contains { $0.contains("ListSessions") && $0.contains("tls.client_subject=CN=agent-7,O=Example") }
      }

      let halfPair = try await fixture.cli(["health", "--client-cert", agent.certificate], server: target, token: .none)
      #expect(halfPair.exitCode == 64, "\(halfPair)")
    }
  }

  @Test("the Unix socket gets --unix-socket-mode and --unix-socket-group")
  func unixSocketPermissions() async throws {
    var options = DaemonFixture.Options()
    options.extraArguments = ["--unix-socket-mode", "0600", "--unix-socket-group", "4242"]
    try await withDaemon(options) { fixture, _ in
      var info = stat()
      #expect(lstat(fixture.socketPath, &info) == 0)
      #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
      #expect(info.st_gid == 4242)
      #expect(info.st_uid == geteuid())
    }
    var bad = DaemonFixture.Options()
    bad.extraArguments = ["--unix-socket-mode", "999"]
    let fixture = try DaemonFixture(options: bad)
    defer { fixture.remove() }
    let result = try await TestProcess.run(try BuiltProducts.executable("agentcubed"), fixture.daemonArguments)
    #expect(result.exitCode == 64 && result.stderr.contains("--unix-socket-mode"), "\(result)")
  }
}
