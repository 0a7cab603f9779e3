extension RuntimeSpec {
  /// What a sandbox's spec is made of.
  struct SandboxPlan: Sendable {
    var layout: SandboxLayout
    var hostname: String
    /// Host id of the sandbox's root (uid and gid); the sandbox owns `idCount` ids from it.
    var hostID: UInt32
    var idCount: UInt32
    var limits: SandboxLimits
    var arguments: [String]
    var environment: [String: String]
    /// In-sandbox user the program runs as.
    var user: UInt32 = 0
    /// Extra read-only binds (host file or directory → sandbox path), e.g. the OpenSSH image's files.
    var readOnlyBinds: [(source: String, destination: String)] = []
    /// Extra tmpfs mounts with a mode, e.g. sshd's privilege-separation directory.
    var tmpfs: [(destination: String, mode: String)] = []
    var capabilities: [String]
    var seccomp: Seccomp?
    /// Put the sandbox in cgroups of its own (`/agentcube/<id>`); off where they cannot be made.
    var cgroups: Bool
    /// The memory cgroup accounts swap (`memory.memsw.*` of cgroup v1): the limit then covers swap too.
    var swapAccounting = false
    /// runc runs without root: one mapped id, no device rules, no process rlimit (it would count
    /// the server's own processes), no `gid=5` for devpts (that group is not mapped).
    var rootless = false
  }

  /// The capabilities a container gets by default from containers-common (podman), all of them
  /// only within the sandbox's own user namespace.
  static let defaultCapabilities = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP",
    "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
  ]

  /// The mount points `rootfs` holds (the root is read-only, so runc cannot make them).
  static let mountPoints = ["proc", "dev", "sys", "usr", "etc", "tmp", "run", "workspace"]
  /// The merged-/usr links of Debian and most distributions.
  static let usrLinks = ["bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"]

  /// A sandbox: user, network, pid, ipc, uts, mount and cgroup namespaces; the host's `/usr` and
  /// `/etc` read-only; private `/proc`, `/dev`, `/sys` (read-only), bounded tmpfs `/tmp`, `/run` and
  /// `/dev/shm`; the workspace the one writable bind; `nosuid,nodev` everywhere; limits; seccomp;
  /// no new privileges.
  static func sandbox(_ plan: SandboxPlan) -> RuntimeSpec {
    let limits = plan.limits
    let tmpfsSize = "size=\(limits.tmpfsBytes)"
    var mounts: [Mount] = [
      Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
      Mount(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
      Mount(
        destination: "/dev/pts", type: "devpts", source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] + (plan.rootless ? [] : ["gid=5"])),
      Mount(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", tmpfsSize]),
      Mount(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
      Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
      Mount(destination: "/usr", type: "bind", source: "/usr", options: ["bind", "ro", "nosuid", "nodev"]),
      Mount(destination: "/etc", type: "bind", source: "/etc", options: ["bind", "ro", "nosuid", "nodev"]),
    ]
    for file in ["passwd", "group", "shadow"] {
      mounts.append(
        Mount(destination: "/etc/" + file, type: "bind", source: plan.layout.etc + "/" + file, options: ["bind", "ro", "nosuid", "nodev"]))
    }
    mounts += [
      Mount(destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", tmpfsSize]),
      Mount(destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755", tmpfsSize]),
    ]
    for extra in plan.tmpfs {
      mounts.append(
        Mount(destination: extra.destination, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "mode=\(extra.mode)", "size=1m"]))
    }
    for bind in plan.readOnlyBinds {
      mounts.append(Mount(destination: bind.destination, type: "bind", source: bind.source, options: ["bind", "ro", "nosuid", "nodev"]))
    }
    mounts.append(
      Mount(
        destination: SandboxLayout.workspaceInside, type: "bind", source: plan.layout.workspace,
        options: ["bind", "rw", "nosuid", "nodev"]))

    let mapping = [IDMapping(containerID: 0, hostID: plan.hostID, size: plan.idCount)]
    let environment = plan.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    var resources = Resources(devices: plan.rootless ? nil : [DeviceRule(allow: false, access: "rwm")])
    if plan.cgroups {
      // swap is memory plus swap in the OCI spec: equal to the limit, no swap at all, where the
      // kernel accounts swap.
      resources.memory = Memory(limit: limits.memoryBytes, swap: plan.swapAccounting ? limits.memoryBytes : nil)
      resources.pids = Pids(limit: limits.processes)
      resources.cpu = CPU(quota: Int64((limits.cpus * 100_000).rounded()), period: 100_000)
    }
    return RuntimeSpec(
      process: Process(
        user: User(uid: plan.user, gid: plan.user), args: plan.arguments, env: environment,
        cwd: SandboxLayout.workspaceInside, capabilities: .only(plan.capabilities),
        rlimits: [
          Rlimit(type: "RLIMIT_NOFILE", hard: limits.openFiles, soft: limits.openFiles),
          Rlimit(type: "RLIMIT_CORE", hard: 0, soft: 0),
        ]
          // Counted per host uid, and the sandbox's uids are its own: a process limit for the
          // sandbox even where no pids cgroup can be made (not rootless: the uid is the server's).
          + (plan.rootless ? [] : [Rlimit(type: "RLIMIT_NPROC", hard: UInt64(limits.processes), soft: UInt64(limits.processes))]),
        oomScoreAdj: 500),
      root: Root(path: "rootfs", readonly: true),
      hostname: plan.hostname,
      mounts: mounts,
      linux: Linux(
        uidMappings: mapping, gidMappings: mapping,
        namespaces: ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"].map { Namespace(type: $0) },
        resources: resources,
        cgroupsPath: plan.cgroups ? "/agentcube/\(plan.layout.id)" : nil,
        seccomp: plan.seccomp,
        // As runc's default spec.
        maskedPaths: [
          "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        ],
        readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]))
  }
}
