import Glibc

/// Starts a session's sandbox: in its own session and process group, under bubblewrap when it
/// works here, with resource limits, a clean environment and its output in the session's log.
struct SandboxLauncher: Sendable {
  var bubblewrap: String
  var isolated: Bool
  var stateDirectory: String
  /// Soft and hard RLIMIT_NOFILE of every sandbox.
  var openFileLimit: UInt64
  /// RLIMIT_NPROC, or `nil` for none. It counts every process of the real user on the machine,
  /// so it is only set when the server does not run as root.
  var processLimit: UInt64?
  /// Absolute path of prlimit(1), or `nil` when it is not installed.
  var prlimit: String?
  /// Host paths no sandbox sees (replaced by empty read-only ones).
  var hiddenDirectories: [String]
  var hiddenFiles: [String]

  /// What runs inside: argv, extra environment, and whether it needs the server's privileges.
  struct Program: Sendable {
    var arguments: [String]
    var environment: [String: String]
    var privileged: Bool
    var readOnlyBinds: [String]
    /// Hidden files to show with other content: destination to source.
    var replacedFiles: [String: String] = [:]
  }

  /// The bubblewrap setup for a session's workspace (also used for the OpenSSH image's inner sandbox).
  func bubblewrap(layout: SandboxLayout, readOnlyBinds: [String] = [], replacedFiles: [String: String] = [:])
    -> Bubblewrap
  {
    Bubblewrap(
      executable: bubblewrap, stateDirectory: stateDirectory, workspace: layout.workspace,
      hiddenDirectories: hiddenDirectories, hiddenFiles: hiddenFiles, replacedFiles: replacedFiles,
      readOnlyBinds: readOnlyBinds)
  }

  /// Starts `program` for the session at `layout`; returns the sandbox leader's identity.
  func launch(_ program: Program, layout: SandboxLayout, hostname: String) throws -> ProcessIdentity {
    var command = program.arguments
    if isolated {
      command =
        bubblewrap(layout: layout, readOnlyBinds: program.readOnlyBinds, replacedFiles: program.replacedFiles)
        .sandboxArguments(hostname: hostname, privileged: program.privileged) + command
    }
    // posix_spawn cannot set resource limits: prlimit(1) (util-linux) sets soft and hard limits
    // and execs the sandbox, keeping the pid, so they hold for everything inside for good.
    // Without it, a shell sets what every /bin/sh can (RLIMIT_NPROC's flag differs between shells).
    let openFiles = min(openFileLimit, hardLimit(Int32(RLIMIT_NOFILE.rawValue)))
    let wrapper: [String]
    if let prlimit {
      var limits = [prlimit, "--nofile=\(openFiles)", "--core=0"]
      if let processLimit { limits.append("--nproc=\(min(processLimit, hardLimit(Int32(__RLIMIT_NPROC.rawValue))))") }
      wrapper = limits + ["--"]
    } else {
      wrapper = ["/bin/sh", "-c", "ulimit -n \(openFiles) && ulimit -c 0 && exec \"$@\"", "agentcube-sandbox"]
    }
    let environment = program.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    let request = SpawnRequest(
      executable: wrapper[0], arguments: wrapper + command,
      environment: environment, workingDirectory: layout.workspace, outputPath: layout.output, newSession: true)
    let pid = try ChildProcess.spawn(request)
    // The child exists until we collect it, so its stat is there even if it already failed.
    guard let identity = ProcessIdentity.current(pid: pid) else {
      throw LocalBackendError("the sandbox process \(pid) vanished at once")
    }
    return identity
  }

  private func hardLimit(_ resource: Int32) -> UInt64 {
    var limit = rlimit()
    guard getrlimit(resource, &limit) == 0 else { return .max }
    return limit.rlim_max == rlim_t.max ? .max : UInt64(limit.rlim_max)  // RLIM_INFINITY is ~0
  }

  /// The host paths to hide that exist here: credentials readable by root's user id even
  /// without capabilities, and the login user's home.
  static func sensitivePaths(home: String?) -> (directories: [String], files: [String]) {
    var directories = ["/root", "/etc/ssh", "/etc/ssl/private"]
    if let home, home != "/", !directories.contains(home) { directories.append(home) }
    let files = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-"]
    return (directories.filter(FileSystem.isDirectory), files.filter(FileSystem.exists))
  }
}
