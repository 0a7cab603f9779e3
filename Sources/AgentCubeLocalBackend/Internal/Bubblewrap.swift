/// bubblewrap command lines: the sandbox a session runs in, and the inner one the OpenSSH image
/// runs each SSH command in.
///
/// Both see the host's `/` read-only, a private `/tmp` and `/dev`, the state directory replaced by
/// an empty read-only directory holding only the session's own workspace (writable) and the
/// files it needs (read-only), and sensitive host paths hidden.
struct Bubblewrap: Sendable {
  /// Absolute path of `bwrap`.
  var executable: String
  /// The state directory to hide (other sessions' files live there).
  var stateDirectory: String
  /// The session's workspace: bound writable at its own path.
  var workspace: String
  /// Directories replaced by an empty read-only directory (e.g. the login user's home).
  var hiddenDirectories: [String] = []
  /// Files replaced by /dev/null, bound without device access: opening them fails (e.g. /etc/shadow).
  var hiddenFiles: [String] = []
  /// Replacements for some of `hiddenFiles`: destination to source, bound read-only.
  var replacedFiles: [String: String] = [:]
  /// Paths bound read-only at their own place inside the hidden state directory.
  var readOnlyBinds: [String] = []

  /// The session's sandbox, with its own pid, IPC, UTS and cgroup namespaces and `hostname`.
  ///
  /// `privileged` keeps the server's user and capabilities (sshd needs real root for its
  /// privilege separation) and gives it a `/run/sshd`; otherwise the sandbox runs in a user
  /// namespace with every capability dropped.
  func sandboxArguments(hostname: String, privileged: Bool) -> [String] {
    var arguments = [executable]
    if !privileged { arguments += ["--unshare-user", "--cap-drop", "ALL"] }
    arguments += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", hostname]
    arguments += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    if privileged { arguments += ["--tmpfs", "/run", "--dir", "/run/sshd"] }
    arguments += filesystemArguments()
    arguments += ["--chdir", workspace, "--"]
    return arguments
  }

  /// The inner sandbox of an SSH command: a user namespace without capabilities, sharing the
  /// session sandbox's pid namespace (so background jobs outlive the connection until the session
  /// ends) and its `/proc`, which an unprivileged sandbox cannot mount anew.
  func commandArguments() -> [String] {
    var arguments = [executable, "--unshare-user", "--cap-drop", "ALL", "--unshare-ipc", "--unshare-cgroup-try"]
    arguments += ["--ro-bind", "/", "/", "--dev", "/dev", "--tmpfs", "/tmp"]
    arguments += filesystemArguments()
    arguments += [
      "--chdir", workspace, "--setenv", "HOME", workspace, "--setenv", "AGENTCUBE_WORKSPACE", workspace, "--",
    ]
    return arguments
  }

  /// Probe command lines: the sandbox shapes above around `/bin/true`, without session paths.
  static func probeArguments(executable: String, privileged: Bool) -> [String] {
    var arguments = [executable]
    if !privileged { arguments += ["--unshare-user", "--cap-drop", "ALL"] }
    arguments += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    arguments += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    if privileged { arguments += ["--tmpfs", "/run", "--dir", "/run/sshd"] }
    return arguments + ["--", "/bin/true"]
  }

  private func filesystemArguments() -> [String] {
    // Mount first, make read-only last: a hidden directory may contain the state directory and
    // bwrap creates mount points in these empty tmpfs directories while it sets up.
    var arguments: [String] = []
    for directory in hiddenDirectories { arguments += ["--tmpfs", directory] }
    for file in hiddenFiles { arguments += ["--ro-bind", replacedFiles[file] ?? "/dev/null", file] }
    arguments += ["--tmpfs", stateDirectory, "--bind", workspace, workspace]
    for path in readOnlyBinds { arguments += ["--ro-bind", path, path] }
    for directory in hiddenDirectories + [stateDirectory] { arguments += ["--remount-ro", directory] }
    return arguments
  }
}
