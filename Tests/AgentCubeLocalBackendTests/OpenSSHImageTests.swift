import AgentCubeCore
import Foundation
import Glibc
import Testing

@testable import AgentCubeLocalBackend

/// The built-in image against the real OpenSSH client, which reaches sshd inside the sandbox's
/// private network through `nsenter` + `socat` as its ProxyCommand. Needs root, runc and OpenSSH.
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

  func clientOptions(key: String, pid: Int32 = 0) -> [String] {
    [
      "-i", key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-F", "/dev/null",
      "-o", "ProxyCommand=/usr/bin/nsenter -t \(pid) -n /usr/bin/socat STDIO TCP:127.0.0.1:22",
    ]
  }

  @Test("SSH and SFTP run as the sandbox's root: an unprivileged host uid range, seccomp, writes only in the workspace")
  func isolation() async throws {
    try await withBackend { backend, context in
      let key = try await makeKey(in: context.directory)
      let spec = makeSpec(image: LocalImage.defaultName, sshPublicKey: key.publicKey)
      let session = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      #expect(session.status == .running && session.sshPort == 22 && session.sshUser == "root")
      #expect(session.sshHostPublicKey.hasPrefix("ssh-ed25519 "))
      let layout = SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id)
      let process = try #require(await backend.processForTesting(spec.id))
      let options = { (key: String) in self.clientOptions(key: key, pid: process.pid) }
      let target = "root@\(spec.name)"

      let script = """
        head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ */uidmap:/'
        grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status | tr -d '\\t'
        touch /etc/agentcube-\(spec.name) 2>/dev/null && echo etc:written || echo etc:denied
        touch /usr/agentcube-\(spec.name) 2>/dev/null && echo usr:written || echo usr:denied
        touch /agentcube-\(spec.name) 2>/dev/null && echo root:written || echo root:denied
        echo from-ssh > in-workspace && echo workspace:written
        echo "pwd:$(pwd)"
        ls \(context.stateDirectory) >/dev/null 2>&1 && echo state:visible || echo state:invisible
        echo "shadow:$(cat /etc/ssh/ssh_host_*_key 2>/dev/null | wc -c)"
        """
      let ssh = try await runProgram("/usr/bin/ssh", options(key.privateKey) + [target, script])
      #expect(ssh.status == 0, "\(ssh.output)")
      let lines = Set(ssh.output.split(separator: "\n").map(String.init))
      let claim = try #require(await backend.entries[spec.id]?.record.idRange)
      #expect(lines.contains("uidmap:0 \(1_000_000_000 + claim * 65_536) 65536"), "\(ssh.output)")
      #expect(lines.isSuperset(of: ["Seccomp:2", "NoNewPrivs:1"]), "\(ssh.output)")
      #expect(lines.isSuperset(of: ["etc:denied", "usr:denied", "root:denied", "workspace:written"]), "\(ssh.output)")
      #expect(lines.contains("pwd:/workspace"), "\(ssh.output)")
      #expect(lines.contains("state:invisible"), "the host's state directory is not in the sandbox: \(ssh.output)")
      #expect(lines.contains("shadow:0"), "\(ssh.output)")
      #expect(FileSystem.read(layout.workspace + "/in-workspace") == Array("from-ssh\n".utf8))
      #expect(!FileSystem.exists("/etc/agentcube-\(spec.name)") && !FileSystem.exists("/usr/agentcube-\(spec.name)"))

      // SFTP: into the workspace, not outside it.
      let local = context.directory + "/upload.txt"
      try FileSystem.write(Array("from-sftp\n".utf8), to: local, mode: 0o644)
      let inside = context.directory + "/inside.batch"
      try FileSystem.write(Array("put \(local) uploaded.txt\n".utf8), to: inside, mode: 0o644)
      let put = try await runProgram("/usr/bin/sftp", options(key.privateKey) + ["-b", inside, target])
      #expect(put.status == 0, "\(put.output)")
      #expect(FileSystem.read(layout.workspace + "/uploaded.txt") == Array("from-sftp\n".utf8))
      for outside in ["/etc/agentcube-sftp-\(spec.name)", "/usr/agentcube-sftp-\(spec.name)"] {
        let batch = context.directory + "/outside.batch"
        try FileSystem.write(Array("put \(local) \(outside)\n".utf8), to: batch, mode: 0o644)
        let denied = try await runProgram("/usr/bin/sftp", options(key.privateKey) + ["-b", batch, target])
        #expect(denied.status != 0, "\(denied.output)")
        #expect(!FileSystem.exists(outside))
      }

      // Any other key is refused.
      try FileSystem.makeDirectory(context.directory + "/stranger", mode: 0o700)
      let stranger = try await makeKey(in: context.directory + "/stranger")
      let refused = try await runProgram("/usr/bin/ssh", options(stranger.privateKey) + [target, "true"])
      #expect(refused.status == 255, "\(refused.output)")

      try await backend.deleteSession(id: spec.id, caller: try caller())
      #expect(!process.isAlive)
      #expect(await eventually { !FileSystem.exists(layout.root) })
    }
  }
}
