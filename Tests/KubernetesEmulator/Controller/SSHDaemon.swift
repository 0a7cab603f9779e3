import Foundation
import NIOCore
import NIOPosix

/// A real OpenSSH server standing in for a sandbox pod's container: `sshd -D -e` with its own
/// ed25519 host key, the pod's `SSH_PUBLIC_KEY` as the only authorized key, listening on the pod's
/// own loopback address (`127.x.y.z`) at the SSH port, configured entirely by `-o` options
/// (`-f /dev/null`: no system configuration read).
struct SSHDaemon: Sendable {
  let address: String
  let port: Int
  /// `ssh-ed25519 AAAA…` (for a known_hosts line).
  let hostPublicKey: String
  let process: SpawnedProcess
  let log: String

  /// Starts one in `directory` (created, 0700) and waits until it accepts connections; throws with
  /// sshd's own words when it ends first or does not listen within `timeout`.
  static func start(
    directory: String, address: String, port: Int, authorizedKeys: String, paths: SandboxControllerConfiguration,
    timeout: Duration
  ) async throws -> SSHDaemon {
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    // sshd's privilege separation needs its empty directory (Debian creates it at boot of the service).
    if !FileManager.default.fileExists(atPath: "/run/sshd") {
      try? FileManager.default.createDirectory(
        atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }
    let hostKey = directory + "/ssh_host_ed25519_key"
    let log = directory + "/sshd.log"
    if !FileManager.default.fileExists(atPath: hostKey) {
      let status = try await SpawnedProcess.run(
        paths.sshKeygenPath, ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", hostKey], output: log)
      guard status == 0 else { throw SandboxRuntimeError("ssh-keygen failed (exit \(status))") }
    }
    let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8)
      .split(separator: " ").prefix(2).joined(separator: " ")
    let keys = directory + "/authorized_keys"
    FileManager.default.createFile(
      atPath: keys, contents: Data(authorizedKeys.utf8), attributes: [.posixPermissions: 0o600])
    let options = [
      "ListenAddress=\(address):\(port)", "HostKey=\(hostKey)", "AuthorizedKeysFile=\(keys)",
      "AuthorizedKeysCommand=none", "AuthorizedPrincipalsFile=none", "PidFile=none", "UsePAM=no",
      "StrictModes=no", "PubkeyAuthentication=yes", "PasswordAuthentication=no", "KbdInteractiveAuthentication=no",
      "HostbasedAuthentication=no", "PermitRootLogin=prohibit-password", "AuthenticationMethods=publickey",
      "UseDNS=no", "PrintMotd=no", "PrintLastLog=no", "PermitUserEnvironment=no", "Subsystem=sftp internal-sftp",
      "LogLevel=INFO", "LoginGraceTime=30",
    ]
    let arguments = ["-D", "-e", "-f", "/dev/null"] + options.flatMap { ["-o", $0] }
    let process = try SpawnedProcess.start(paths.sshdPath, arguments, output: log)
    let daemon = SSHDaemon(address: address, port: port, hostPublicKey: publicKey, process: process, log: log)
    let deadline = ContinuousClock.now + timeout
    do {
      while true {
        if process.hasEnded { throw SandboxRuntimeError("sshd exited: " + daemon.lastWords) }
        if await Self.accepts(address: address, port: port) { return daemon }
        guard ContinuousClock.now < deadline else {
          throw SandboxRuntimeError("sshd did not listen on \(address):\(port) within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(15))
      }
    } catch {
      // Cancelled (the sandbox went away) or failed: no daemon is left behind.
      await process.stop()
      throw error
    }
  }

  /// The end of sshd's log, for a pod's failure message.
  var lastWords: String {
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    return text.split(separator: "\n").suffix(2).joined(separator: "; ")
  }

  func stop() async { await process.stop() }

  /// Whether a TCP connection to `address:port` is accepted (a readiness probe's `tcpSocket`).
  static func accepts(address: String, port: Int) async -> Bool {
    do {
      let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .connectTimeout(.seconds(1)).connect(host: address, port: port).get()
      try? await channel.close()
      return true
    } catch {
      return false
    }
  }
}

/// Why a sandbox's pod could not run (its message becomes the pod's).
struct SandboxRuntimeError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
