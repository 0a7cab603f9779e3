import AgentCubeCore
import Glibc

/// The built-in image: OpenSSH sshd as the sandbox's init, running as the sandbox's root (root of
/// its own user namespace, an unprivileged host uid) with privilege separation working.
///
/// Its files live in the session's `ssh` directory, owned by the sandbox's root and shown
/// read-only at ``SandboxLayout/sshInside``: a fresh ed25519 host key, the session's public key
/// as the only authorized key, and the config.
struct OpenSSHImage: Sendable {
  var sshd = "/usr/sbin/sshd"
  var keygen = "/usr/bin/ssh-keygen"

  /// Why the image cannot start here, or `nil` when it can.
  func unavailableReason() -> String? {
    for tool in [sshd, keygen] where access(tool, X_OK) != 0 {
      return "the default image needs OpenSSH (\(tool) is missing): install openssh-server"
    }
    return nil
  }

  /// Writes the host key, authorized key and sshd_config of a session; returns the host public key line.
  func prepare(layout: SandboxLayout, spec: SessionSpec, port: UInt16, user: String, owner: UInt32) async throws
    -> String
  {
    // sshd reads the authorized keys as the user logging in: another user than root must be able
    // to pass through the directory and read that one file (which StrictModes accepts, as the
    // sandbox's root owns it and only root may write it). The host key stays root's alone.
    let otherUser = user != "root"
    try FileSystem.makeDirectory(layout.ssh, mode: otherUser ? 0o711 : 0o700)
    let hostKey = layout.ssh + "/ssh_host_ed25519_key"
    let keygenRequest = SpawnRequest(
      executable: keygen, arguments: [keygen, "-q", "-t", "ed25519", "-N", "", "-C", spec.name, "-f", hostKey],
      environment: ["PATH=/usr/bin:/bin"], workingDirectory: "/", outputPath: layout.output)
    let status = try await ChildProcess.run(keygenRequest, timeout: .seconds(10))
    guard status == .exited(0) else { throw LocalBackendError("ssh-keygen failed (\(status))") }
    guard let publicKey = FileSystem.read(hostKey + ".pub", limit: 4096) else {
      throw LocalBackendError("ssh-keygen wrote no public key")
    }
    let authorizedKeys = spec.sshPublicKey.isEmpty ? "" : spec.sshPublicKey + "\n"
    try FileSystem.write(Array(authorizedKeys.utf8), to: layout.ssh + "/authorized_keys", mode: otherUser ? 0o644 : 0o600)
    try FileSystem.write(Array(sshdConfig(layout: layout, port: port, user: user).utf8), to: layout.ssh + "/sshd_config", mode: 0o600)
    for name in [".", "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "authorized_keys", "sshd_config"] {
      guard chown(layout.ssh + "/" + name, owner, owner) == 0 else {
        throw FileSystem.error("cannot hand to the sandbox:", layout.ssh + "/" + name)
      }
    }
    // "ssh-ed25519 AAAA... comment": the comment is ours (the session name); keep type and key.
    let fields = String(decoding: publicKey, as: UTF8.self).split(separator: " ")
    return fields.prefix(2).joined(separator: " ")
  }

  /// sshd's argv inside the sandbox: in the foreground, logging to stderr (the output log).
  var arguments: [String] { [sshd, "-D", "-e", "-f", SandboxLayout.sshInside + "/sshd_config"] }

  func sshdConfig(layout: SandboxLayout, port: UInt16, user: String) -> String {
    let ssh = SandboxLayout.sshInside
    return """
      # Written by agentcubed for session \(layout.id).
      ListenAddress 127.0.0.1:\(port)
      HostKey \(ssh)/ssh_host_ed25519_key
      PidFile none
      AuthorizedKeysFile \(ssh)/authorized_keys
      AuthorizedPrincipalsFile none
      AllowUsers \(user)
      AuthenticationMethods publickey
      PubkeyAuthentication yes
      PasswordAuthentication no
      KbdInteractiveAuthentication no
      HostbasedAuthentication no
      PermitEmptyPasswords no
      PermitRootLogin prohibit-password
      UsePAM no
      StrictModes yes
      DisableForwarding yes
      PermitTunnel no
      PermitUserEnvironment no
      PermitUserRC no
      UseDNS no
      PrintMotd no
      PrintLastLog no
      MaxAuthTries 3
      LoginGraceTime 30
      LogLevel INFO
      Subsystem sftp internal-sftp

      """
  }
}

/// The account files a sandbox sees over the host's `/etc/passwd`, `/etc/group` and `/etc/shadow`:
/// its own root, the SSH user, sshd's privilege-separation user and nobody; no host hashes.
enum SandboxAccounts {
  /// In-sandbox uid (and gid) of a login user other than root.
  static let userID: UInt32 = 1000

  static func write(to layout: SandboxLayout, sshUser: String, owner: UInt32) throws {
    let shell = FileSystem.exists("/usr/bin/bash") ? "/bin/bash" : "/bin/sh"
    let home = SandboxLayout.workspaceInside
    var passwd = [
      "root:x:0:0:root:\(home):\(shell)", "sshd:x:100:65534::/run/sshd:/usr/sbin/nologin",
      "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    ]
    var group = ["root:x:0:", "tty:x:5:", "nogroup:x:65534:"]
    var shadow = ["root:*:1:0:99999:7:::", "sshd:*:1:0:99999:7:::", "nobody:*:1:0:99999:7:::"]
    if sshUser != "root" {
      passwd.append("\(sshUser):x:\(userID):\(userID)::\(home):\(shell)")
      group.append("\(sshUser):x:\(userID):")
      shadow.append("\(sshUser):*:1:0:99999:7:::")
    }
    try FileSystem.makeDirectory(layout.etc, mode: 0o755)
    for (name, lines, mode) in [("passwd", passwd, 0o644), ("group", group, 0o644), ("shadow", shadow, 0o600)] {
      let path = layout.etc + "/" + name
      try FileSystem.write(Array((lines.joined(separator: "\n") + "\n").utf8), to: path, mode: mode_t(mode))
      guard chown(path, owner, owner) == 0 else { throw FileSystem.error("cannot hand to the sandbox:", path) }
    }
  }

  /// Whether `name` can be a login name here: a POSIX portable user name of at most 32 bytes.
}
