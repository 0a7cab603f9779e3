import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// `agentcubed` run by a user without root (here `nobody`): rootless runc sandboxes, reported as
/// only partly isolated, with exactly the protections that hold.
@Suite(
  "agentcubed without root",
  .enabled(if: geteuid() == 0 && EndToEnd.hasSocat, "the test drops from root to nobody; the image runs socat"),
  .enabled(if: access("/usr/sbin/runc", X_OK) == 0 && access("/usr/bin/setpriv", X_OK) == 0, "needs runc and setpriv"),
  .timeLimit(.minutes(10))
)
struct RootlessEndToEndTests {
  @Test("Health says partly isolated and why; command images run in a one-uid user namespace with seccomp; the default image is refused with the reason")
  func rootless() async throws {
    var options = DaemonFixture.Options()
    options.runAs = (uid: 65534, gid: 65534)
    try await withDaemon(options) { fixture, daemon in
      let health = try await fixture.cli(["health"], token: .none)
      #expect(health.exitCode == 0, "\(health)")
      #expect(fields(health.stdout)["isolated"]?.hasPrefix("no (partly isolated: rootless runc") == true, "\(health)")
      for part in ["ONE host uid", "private network namespace", "seccomp", "NO cgroup limits", "NO workspace quota"] {
        #expect(health.stdout.contains(part), "\(part) missing: \(health)")
      }

      let created = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
        .succeeded(as: CLISession.self)
      let echo = await fixture.tunnelExchange(
        sessionID: created.id, port: UInt32(DaemonFixture.echoPort), message: "rootless\n")
      #expect(echo == "rootless\n")
      // The kernel's view of the sandbox: root inside is the server's uid, and nothing else is mapped.
      #expect(fixture.recordedSandboxUIDMaps() == ["0 65534 1"], "\(fixture.recordedSandboxUIDMaps())")
      let pid = try #require(sandboxInitPID(of: created.id, in: fixture))
      let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
      #expect(status.contains("Seccomp:\t2") && status.contains("NoNewPrivs:\t1"), "\(status)")

      let ssh = try await fixture.cli(["session", "create", "--json"])
      #expect(ssh.exitCode == 19, "\(ssh)")
      #expect(ssh.stderr.contains("needs a server running as root"), "\(ssh)")

      let delete = try await fixture.cli(["session", "delete", created.id])
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(!fixture.recordedSandboxIsRunning(created.id))
      #expect(daemon.isRunning)
    }
  }
}
