import AgentCubeCore

extension LocalBackend {
  /// How the local backend runs sandboxes. Start from ``defaults(stateDirectory:)``.
  ///
  /// ```swift
  /// var configuration = LocalBackend.Configuration.defaults(stateDirectory: "/var/lib/agentcube")
  /// configuration.images.merge(try LocalImage.loadImages(fromFile: "/etc/agentcube/images.json")) { $1 }
  /// let backend = try await LocalBackend(configuration: configuration, logger: logger)
  /// ```
  public struct Configuration: Sendable {
    /// Where session records and sandboxes live (an absolute path). Every directory above it must
    /// be owned by root or the server and not writable by others (unless sticky, as `/tmp`).
    /// A backend started on the same directory re-adopts the sandboxes that still run.
    public var stateDirectory: String

    /// Images by name. ``LocalImage/defaultName`` (`default`) is always present: when missing,
    /// the built-in ``LocalImage/openSSH`` is added under it.
    public var images: [String: LocalImage]

    /// The longest a sandbox may take to serve, whatever the caller's deadline. Default 30 s.
    public var startTimeout: Duration

    /// How often the reaper looks for expired, idle, dead and out-of-memory sessions. Default 1 s.
    public var reapInterval: Duration

    /// The least time between two writes of a session's last activity to disk. Default 5 s.
    public var activityPersistInterval: Duration

    /// runc's absolute path, or `nil` to look in `/usr/sbin`, `/usr/bin` and `/usr/local`. Default `nil`.
    public var runcPath: String?

    /// First host uid/gid of the sandbox id ranges. Default 1,000,000,000.
    public var idRangeBase: UInt32

    /// How many 65,536-id ranges there are, which bounds the sandboxes on the machine. Default 1,024.
    public var idRangeCount: Int

    /// Root-owned directory of per-range lock files shared by every server on the machine, so that
    /// no two sandboxes get the same host ids. Default `/run/agentcube/id-ranges`.
    public var idLockDirectory: String

    /// The containers-common seccomp profile (Docker format). Default `/usr/share/containers/seccomp.json`.
    public var seccompProfilePath: String

    /// What network sandboxes get besides their loopback. Default ``SandboxNetwork/none``.
    public var network: SandboxNetwork = .none

    /// The time of day for TTLs, idle timeouts and activity. Default ``WallClock/system``.
    public var clock: WallClock = .system

    /// Creates a configuration; see each property for its default.
    public init(
      stateDirectory: String,
      images: [String: LocalImage] = [LocalImage.defaultName: .openSSH],
      startTimeout: Duration = .seconds(30),
      reapInterval: Duration = .seconds(1),
      activityPersistInterval: Duration = .seconds(5),
      runcPath: String? = nil,
      idRangeBase: UInt32 = 1_000_000_000,
      idRangeCount: Int = 1024,
      idLockDirectory: String = "/run/agentcube/id-ranges",
      seccompProfilePath: String = "/usr/share/containers/seccomp.json"
    ) {
      self.stateDirectory = stateDirectory
      self.images = images
      self.startTimeout = startTimeout
      self.reapInterval = reapInterval
      self.activityPersistInterval = activityPersistInterval
      self.runcPath = runcPath
      self.idRangeBase = idRangeBase
      self.idRangeCount = idRangeCount
      self.idLockDirectory = idLockDirectory
      self.seccompProfilePath = seccompProfilePath
    }

    /// The defaults, with state in `stateDirectory`.
    public static func defaults(stateDirectory: String) -> Configuration {
      Configuration(stateDirectory: stateDirectory)
    }
  }
}
