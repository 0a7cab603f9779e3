import AgentCubeCore
import Foundation
import Glibc
import Testing

@testable import AgentCubeLocalBackend

/// The built-in image against the real OpenSSH client: needs root, bubblewrap and OpenSSH, as
/// the backend does.
@Suite(
  "Local backend: OpenSSH image",
  .enabled(if: geteuid() == 0, "the OpenSSH image needs root"),
  .enabled(if: access("/usr/bin/ssh", X_OK) == 0 && access("/usr/bin/sftp", X_OK) == 0, "needs the OpenSSH client")
)
struct OpenSSHImageTests {
  /// An ed25519 key pair made by ssh-keygen in `directory`; returns the private key's path.
  func makeKey(in directory: String) async throws -> (privateKey: String, publicKey: String) {
    let path = directory + "/id_ed25519"
    let result = try await runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path])
    try #require(result.status == 0, "ssh-keygen: \(result.output)")
    let publicKey = String(decoding: try #require(FileSystem.read(path + ".pub")), as: UTF8.self)
    return (path, publicKey.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  func clientOptions(key: String) -> [String] {
    [
      "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-F", "/dev/null",
    ]
  }

  @Test("SSH and SFTP users have no capabilities and can write only in the workspace")
  func isolation() async throws {
    try await withBackend { backend, context in
      let key = try await makeKey(in: context.directory)
      let spec = makeSpec(image: LocalImage.defaultName, sshPublicKey: key.publicKey)
      let started = ContinuousClock.now
      let session = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      print("OpenSSH session started in \(ContinuousClock.now - started)")
      #expect(session.status == .running && session.sshPort == 22 && session.sshUser == "root")
      let layout = SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id)
      let target = "\(session.sshUser)@\(session.address)"

      let script = """
        grep '^CapEff:' /proc/self/status
        touch /etc/agentcube-\(spec.name) 2>/dev/null && echo etc:written || echo etc:denied
        touch /root/agentcube-\(spec.name) 2>/dev/null && echo root:written || echo root:denied
        touch /usr/agentcube-\(spec.name) 2>/dev/null && echo usr:written || echo usr:denied
        echo from-ssh > in-workspace && echo workspace:written
        echo "pwd:$(pwd)"
        ls \(context.stateDirectory)/sessions 2>/dev/null | wc -l | sed 's/^/records:/'
        echo "shadow:$(cat /etc/shadow /etc/ssh/ssh_host_*_key 2>/dev/null | wc -c)"
        """
      let ssh = try await runProgram("/usr/bin/ssh", clientOptions(key: key.privateKey) + [target, script])
      #expect(ssh.status == 0, "\(ssh.output)")
      let lines = Set(ssh.output.split(separator: "\n").map(String.init))
      #expect(lines.contains("CapEff:\t0000000000000000"), "\(ssh.output)")
      #expect(lines.isSuperset(of: ["etc:denied", "root:denied", "usr:denied", "workspace:written"]), "\(ssh.output)")
      #expect(lines.contains("pwd:\(layout.workspace)"), "\(ssh.output)")
      #expect(lines.contains("records:0"), "other sessions' records are hidden: \(ssh.output)")
      #expect(lines.contains("shadow:0"), "\(ssh.output)")
      #expect(FileSystem.read(layout.workspace + "/in-workspace") == Array("from-ssh\n".utf8))
      #expect(!FileSystem.exists("/etc/agentcube-\(spec.name)") && !FileSystem.exists("/root/agentcube-\(spec.name)"))

      // SFTP goes through the same inner sandbox.
      let local = context.directory + "/upload.txt"
      try FileSystem.write(Array("from-sftp\n".utf8), to: local, mode: 0o644)
      let inside = context.directory + "/inside.batch"
      try FileSystem.write(Array("put \(local) uploaded.txt\n".utf8), to: inside, mode: 0o644)
      let put = try await runProgram("/usr/bin/sftp", clientOptions(key: key.privateKey) + ["-b", inside, target])
      #expect(put.status == 0, "\(put.output)")
      #expect(FileSystem.read(layout.workspace + "/uploaded.txt") == Array("from-sftp\n".utf8))
      for outside in ["/etc/agentcube-sftp-\(spec.name)", "/root/agentcube-sftp-\(spec.name)"] {
        let batch = context.directory + "/outside.batch"
        try FileSystem.write(Array("put \(local) \(outside)\n".utf8), to: batch, mode: 0o644)
        let denied = try await runProgram("/usr/bin/sftp", clientOptions(key: key.privateKey) + ["-b", batch, target])
        #expect(denied.status != 0, "\(denied.output)")
        #expect(!FileSystem.exists(outside))
      }

      // Any other key is refused.
      try FileSystem.makeDirectory(context.directory + "/stranger", mode: 0o700)
      let stranger = try await makeKey(in: context.directory + "/stranger")
      let refused = try await runProgram("/usr/bin/ssh", clientOptions(key: stranger.privateKey) + [target, "true"])
      #expect(refused.status == 255, "\(refused.output)")

      let process = try #require(await backend.processForTesting(spec.id))
      try await backend.deleteSession(id: spec.id, caller: try caller())
      #expect(!groupIsAlive(process.pid))
      #expect(!FileSystem.exists(layout.root))
    }
  }
}
