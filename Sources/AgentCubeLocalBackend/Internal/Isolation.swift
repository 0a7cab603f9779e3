import Glibc
import Logging

/// Which protections sandboxes get on this machine, found once when the backend starts.
///
/// Sandboxes start only when every boundary holds: runc, a user namespace with a host id range of
/// their own, a private network, the seccomp filter. Cgroup limits and the workspace quota are
/// reported when they cannot be had (they bound resources, not access).
struct Isolation: Sendable {
  var runc: Runc?
  var seccomp: RuntimeSpec.Seccomp?
  /// Where the memory cgroup of a sandbox is, given its id: v1's memory hierarchy or the v2 tree.
  var memoryCgroup: MemoryCgroup?
  var workspaceVolumes: WorkspaceVolumes?
  /// cgroup v1 accounts swap, so a sandbox's memory limit covers swap too.
  var swapAccounting = false
  /// slirp4netns, when sandboxes get ``SandboxNetwork/egress``.
  var userModeNetwork: UserModeNetwork?
  /// Why sandboxes cannot start, or `nil` when they can.
  var unavailable: String?
  /// The server is not root: runc runs rootless, each sandbox's user namespace maps one id (root
  /// inside) to the server's own uid, and there are no cgroups, loop mounts or id ranges.
  var rootless = false
  /// Whether sandboxes are a full boundary (host uid range, network, limits, syscall filter);
  /// rootless ones start, but are not.
  var isolated: Bool { unavailable == nil && !rootless }
  /// Every protection that is on, or why sandboxes cannot start.
  var message: String

  var available: Bool { unavailable == nil }

  enum MemoryCgroup: Sendable {
    case v1
    case v2

    /// The file counting the sandbox's out-of-memory kills, and the key of that count in it.
    func oomEvents(id: String) -> (path: String, key: String) {
      switch self {
      case .v1: ("/sys/fs/cgroup/memory/agentcube/\(id)/memory.oom_control", "oom_kill")
      case .v2: ("/sys/fs/cgroup/agentcube/\(id)/memory.events", "oom_kill")
      }
    }
  }

  static func probe(_ configuration: LocalBackend.Configuration, logger: Logger) async -> Isolation {
    let scratch = configuration.stateDirectory + "/probe.log"
    func refused(_ why: String) -> Isolation {
      Isolation(unavailable: why, message: "not isolated: \(why); sessions cannot start")
    }
    let rootless = geteuid() != 0
    let candidates = configuration.runcPath.map { [$0] } ?? Runc.defaultPaths
    guard let path = candidates.first(where: { access($0, X_OK) == 0 }) else {
      return refused("runc not found (\(candidates.joined(separator: ", "))): install the runc package")
    }
    let runc = Runc(executable: path, root: configuration.stateDirectory + "/runc")
    guard let version = await runc.version(scratch: scratch) else { return refused("\(path) --version failed") }
    let seccomp: RuntimeSpec.Seccomp
    do {
      seccomp = try SeccompProfile.load(
        path: configuration.seccompProfilePath, capabilities: RuntimeSpec.defaultCapabilities)
    } catch {
      return refused("\(error)")
    }
    // Health tells unauthenticated callers which protections hold, not versions or id numbers.
    var parts = [
      rootless ? "partly isolated: rootless runc (the server is not root)" : "runc",
      rootless
        ? "user namespace per sandbox with ONE host uid, the server's own (sandboxes are NOT apart from each other or the server by uid)"
        : "user namespace per sandbox (65,536 host ids of its own; root inside is unprivileged outside)",
      configuration.network == .egress
        ? "private network namespace (loopback, and outbound connections through slirp4netns without the host's loopback)"
        : "private network namespace (loopback only)",
      "pid, ipc, uts, mount and cgroup namespaces",
      "seccomp (containers-common profile, \(seccomp.syscalls.count) rules; no nested user namespaces)",
      "no_new_privs; capabilities \(RuntimeSpec.defaultCapabilities.count) of the container default, inside the user namespace only",
      "read-only root of /usr and /etc; nosuid,nodev mounts; bounded tmpfs",
    ]
    var memoryCgroup: MemoryCgroup?
    if rootless {
      // Without root, no cgroup of its own can be made (nor RLIMIT_NPROC used: it would count the server's processes).
    } else if FileSystem.isDirectory("/sys/fs/cgroup/memory") {
      memoryCgroup = .v1
    } else if FileSystem.exists("/sys/fs/cgroup/cgroup.controllers") {
      memoryCgroup = .v2
    }
    parts.append(
      rootless
        ? "NO cgroup limits (rootless: no memory, process or CPU limit)"
        : memoryCgroup == nil
          ? "NO cgroup limits (no cgroup hierarchy found; RLIMIT_NPROC still bounds processes)"
          : "cgroup limits (memory, pids, cpu)")
    var volumes: WorkspaceVolumes?
    let mkfs = WorkspaceVolumes.findMkfs()
    if let reason = WorkspaceVolumes.unavailableReason(mkfs: mkfs) {
      parts.append("NO workspace quota (\(reason))")
      logger.warning("workspaces have no size limit", metadata: ["reason": "\(reason)"])
    } else {
      volumes = WorkspaceVolumes(templatesDirectory: configuration.stateDirectory + "/templates", mkfs: mkfs!)
      parts.append("workspace quota (an ext4 image per sandbox)")
    }
    var userModeNetwork: UserModeNetwork?
    if configuration.network == .egress {
      guard let slirp = UserModeNetwork.defaultPaths.first(where: { access($0, X_OK) == 0 }) else {
        return refused("--sandbox-network egress needs slirp4netns: install the slirp4netns package")
      }
      userModeNetwork = UserModeNetwork(executable: slirp)
    }
    logger.info("sandbox runtime", metadata: ["runc.path": "\(path)", "runc.version": "\(version)"])
    return Isolation(
      runc: runc, seccomp: seccomp, memoryCgroup: memoryCgroup, workspaceVolumes: volumes,
      swapAccounting: memoryCgroup == .v1 && FileSystem.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
      userModeNetwork: userModeNetwork, unavailable: nil, rootless: rootless, message: parts.joined(separator: "; "))
  }
}
