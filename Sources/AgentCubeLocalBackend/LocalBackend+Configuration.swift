extension LocalBackend {
  /// How the local backend runs sandboxes. Start from ``defaults(stateDirectory:)``.
  ///
  /// ```swift
  /// var configuration = LocalBackend.Configuration.defaults(stateDirectory: "/var/lib/agentcube")
  /// configuration.images.merge(try LocalImage.loadImages(fromFile: "/etc/agentcube/images.json")) { $1 }
  /// let backend = try await LocalBackend(configuration: configuration, logger: logger)
  /// ```
  public struct Configuration: Sendable {
    /// Where session records and sandboxes live (an absolute path; created with mode 0700).
    /// A backend started on the same directory re-adopts the sandboxes that still run.
    public var stateDirectory: String

    /// Images by name. ``LocalImage/defaultName`` (`default`) is always present: when missing,
    /// the built-in ``LocalImage/openSSH`` is added under it.
    public var images: [String: LocalImage]

    /// The loopback range session addresses come from, one address per session. Default `127.77.0.0/16`.
    public var addressPool: String

    /// The user sshd logs SSH clients in as, reported as the session's SSH user. Default: the
    /// server's own user (root, since the OpenSSH image needs root). A different user gets the
    /// workspace as its own.
    public var sshUser: String

    /// The longest a sandbox may take to serve, whatever the caller's deadline. Default 30 s.
    public var startTimeout: Duration

    /// How long a sandbox has to exit after SIGTERM before its process group gets SIGKILL. Default 5 s.
    public var stopGrace: Duration

    /// How often the reaper looks for expired, idle and dead sessions. Default 1 s.
    public var reapInterval: Duration

    /// The least time between two writes of a session's last activity to disk. Default 5 s.
    public var activityPersistInterval: Duration

    /// RLIMIT_NOFILE of every sandbox (capped by the server's own hard limit). Default 4096.
    public var openFileLimit: UInt64

    /// RLIMIT_NPROC of every sandbox when the server does not run as root (the limit counts all
    /// processes of the user on the machine, so it is not set for root). Default 4096.
    public var processLimit: UInt64

    /// Absolute path of bubblewrap. Default `/usr/bin/bwrap`.
    public var bubblewrapPath: String

    /// Directory of per-address lock files shared by every server on the machine, so that two
    /// servers whose pools overlap never hand out the same address. Default `/tmp/agentcube-addresses`.
    public var addressLockDirectory: String

    /// Creates a configuration; see each property for its default.
    public init(
      stateDirectory: String,
      images: [String: LocalImage] = [LocalImage.defaultName: .openSSH],
      addressPool: String = "127.77.0.0/16",
      sshUser: String? = nil,
      startTimeout: Duration = .seconds(30),
      stopGrace: Duration = .seconds(5),
      reapInterval: Duration = .seconds(1),
      activityPersistInterval: Duration = .seconds(5),
      openFileLimit: UInt64 = 4096,
      processLimit: UInt64 = 4096,
      bubblewrapPath: String = "/usr/bin/bwrap",
      addressLockDirectory: String = "/tmp/agentcube-addresses"
    ) {
      self.stateDirectory = stateDirectory
      self.images = images
      self.addressPool = addressPool
      self.sshUser = sshUser ?? UserAccount.current()?.name ?? "root"
      self.startTimeout = startTimeout
      self.stopGrace = stopGrace
      self.reapInterval = reapInterval
      self.activityPersistInterval = activityPersistInterval
      self.openFileLimit = openFileLimit
      self.processLimit = processLimit
      self.bubblewrapPath = bubblewrapPath
      self.addressLockDirectory = addressLockDirectory
    }

    /// The defaults, with state in `stateDirectory`.
    public static func defaults(stateDirectory: String) -> Configuration {
      Configuration(stateDirectory: stateDirectory)
    }
  }
}
