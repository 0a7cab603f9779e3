import AgentCubeCore
import Glibc

/// The built-in image: OpenSSH sshd in the session's sandbox, and a dispatcher (sshd's
/// `ForceCommand`) that runs every command, login shell and the SFTP server in an inner,
/// unprivileged sandbox.
///
/// sshd keeps real root inside the session sandbox because its privilege separation (setgroups,
/// chroot into /run/sshd) fails in a user namespace. The user never has it: `ForceCommand` also
/// receives subsystem requests, with `SSH_ORIGINAL_COMMAND` set to the `Subsystem` command line.
struct OpenSSHImage: Sendable {
  var sshd = "/usr/sbin/sshd"
  var sftpServer = "/usr/lib/openssh/sftp-server"
  var keygen = "/usr/bin/ssh-keygen"

  /// Why the image cannot start here, or `nil` when it can.
  func unavailableReason(isRoot: Bool, isolation: Isolation) -> String? {
    guard isRoot else {
      return
        "the default image runs OpenSSH sshd, whose privilege separation needs root: run the server as root, or configure a custom image"
    }
    guard isolation.available, isolation.privilegedAvailable else {
      return
        "the default image needs bubblewrap to keep SSH users unprivileged, and it is unavailable (\(isolation.message))"
    }
    for tool in [sshd, sftpServer, keygen] where access(tool, X_OK) != 0 {
      return "the default image needs OpenSSH (\(tool) is missing): install openssh-server and openssh-sftp-server"
    }
    return nil
  }

  /// Writes the host key, authorized key, sshd_config and dispatcher of a session.
  func prepare(
    layout: SandboxLayout, spec: SessionSpec, address: String, port: UInt16, user: UserAccount, inner: Bubblewrap
  ) async throws {
    try FileSystem.makeDirectory(layout.sshd, mode: 0o711)
    try FileSystem.makeDirectory(layout.bin, mode: 0o755)
    let hostKey = layout.sshd + "/ssh_host_ed25519_key"
    let keygenRequest = SpawnRequest(
      executable: keygen, arguments: [keygen, "-q", "-t", "ed25519", "-N", "", "-C", spec.name, "-f", hostKey],
      environment: ["PATH=/usr/bin:/bin"], workingDirectory: "/", outputPath: layout.output)
    let status = try await ChildProcess.run(keygenRequest, timeout: .seconds(10))
    guard status == .exited(0) else { throw LocalBackendError("ssh-keygen failed (\(status))") }

    let authorizedKeys = spec.sshPublicKey.isEmpty ? "" : spec.sshPublicKey + "\n"
    try FileSystem.write(Array(authorizedKeys.utf8), to: layout.sshd + "/authorized_keys", mode: 0o644)
    let config = sshdConfig(layout: layout, address: address, port: port, hostKey: hostKey, user: user.name)
    try FileSystem.write(Array(config.utf8), to: layout.sshd + "/sshd_config", mode: 0o644)
    try FileSystem.write(Array(dispatcher(inner: inner).utf8), to: layout.bin + "/dispatch", mode: 0o755)
    // sshd (without PAM) refuses accounts whose shadow entry is locked ("!..."), as root's often
    // is; it sees this entry instead of the host's, which keeps the hashes hidden as well.
    try FileSystem.write(Array("\(user.name):*:1:0:99999:7:::\n".utf8), to: shadow(layout), mode: 0o600)
  }

  /// The shadow file sshd sees as /etc/shadow.
  func shadow(_ layout: SandboxLayout) -> String { layout.sshd + "/shadow" }

  /// sshd's argv inside the sandbox: in the foreground, logging to stderr (the output log).
  func arguments(layout: SandboxLayout) -> [String] {
    [sshd, "-D", "-e", "-f", layout.sshd + "/sshd_config"]
  }

  func sshdConfig(layout: SandboxLayout, address: String, port: UInt16, hostKey: String, user: String) -> String {
    """
    # Written by agentcubed for session \(layout.id).
    ListenAddress \(address):\(port)
    HostKey \(hostKey)
    PidFile none
    AuthorizedKeysFile \(layout.sshd)/authorized_keys
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
    Subsystem sftp \(sftpServer)
    ForceCommand \(layout.bin)/dispatch

    """
  }

  /// The ForceCommand: picks the SFTP server, the requested command or a login shell and runs it
  /// in the inner sandbox.
  func dispatcher(inner: Bubblewrap) -> String {
    let sandbox = inner.commandArguments().map(shellQuoted).joined(separator: " \\\n  ")
    return """
      #!/bin/sh
      # Written by agentcubed: runs the SSH user's command, login shell or SFTP server in an
      # unprivileged sandbox (user namespace, no capabilities, read-only /, workspace writable).
      sftp_server=\(shellQuoted(sftpServer))
      workspace=\(shellQuoted(inner.workspace))
      set -- \\
        \(sandbox)
      case "${SSH_ORIGINAL_COMMAND-}" in
        "$sftp_server") exec "$@" "$sftp_server" -d "$workspace" ;;
        '') exec "$@" "${SHELL:-/bin/sh}" -l ;;
        *) exec "$@" "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND" ;;
      esac

      """
  }
}
