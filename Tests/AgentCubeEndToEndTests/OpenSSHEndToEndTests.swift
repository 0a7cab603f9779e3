import AgentCubeTestSupport
import Foundation
import Testing

/// The default image (sshd in bubblewrap) created through the CLI, reached with the real OpenSSH
/// client straight at the session's address.
@Suite(
  "OpenSSH sessions through agentcubed",
  .enabled(if: EndToEnd.canRunOpenSSH, "needs root, bubblewrap, sshd and the OpenSSH client"),
  .timeLimit(.minutes(3))
)
struct OpenSSHEndToEndTests {
  @Test("ssh runs a command in the session's workspace; after delete the address refuses connections")
  func sshIntoSession() async throws {
    try await withDaemon { fixture, _ in
      let key = fixture.directory.file("id_ed25519")
      let keygen = try await TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key])
      try #require(keygen.exitCode == 0, "\(keygen)")

      let create = try await fixture.cli(["session", "create", "--ssh-public-key-file", key + ".pub", "--json"])
      let session = try create.succeeded(as: CLISession.self)
      #expect(session.status == "running" && session.image == "default" && session.sshPort == 22, "\(create)")
      #expect(!session.sshUser.isEmpty && !session.address.isEmpty, "\(create)")

      let ssh = try await runSSH(key: key, session: session, command: "echo hello; pwd")
      #expect(ssh.exitCode == 0, "\(ssh)")
      let workspace = "\(fixture.stateDirectory)/sandboxes/\(session.id)/workspace"
      #expect(ssh.stdout == "hello\n\(workspace)\n", "\(ssh)")

      // Another key is refused.
      let other = fixture.directory.file("other_ed25519")
      _ = try await TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
      let refused = try await runSSH(key: other, session: session, command: "echo hello")
      #expect(refused.exitCode == 255 && !refused.stdout.contains("hello"), "\(refused)")

      let delete = try await fixture.cli(["session", "delete", session.id])
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(!TCPProbe.accepts(address: session.address, port: session.sshPort), "sshd still listens")
      let after = try await runSSH(key: key, session: session, command: "echo hello")
      #expect(after.exitCode == 255 && after.stdout.isEmpty, "\(after)")
    }
  }

  private func runSSH(key: String, session: CLISession, command: String) async throws -> ProcessResult {
    try await TestProcess.run(
      "/usr/bin/ssh",
      [
        "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
        "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
        "-p", "\(session.sshPort)", "\(session.sshUser)@\(session.address)", command,
      ], timeout: .seconds(30))
  }
}
