extension SandboxInformer {
  /// What the informer lists and watches, and how it retries.
  public struct Configuration: Sendable {
    /// The Sandbox API version read. Default ``SandboxAPIVersion/v1beta1``.
    public var version: SandboxAPIVersion
    /// The namespaces watched, each with its own list and watch (RBAC per namespace suffices);
    /// empty, the default: all namespaces with one cluster-wide list and watch.
    public var namespaces: [String]
    /// Which Sandboxes are the product's. Default `managed-by=agentcube`.
    public var labelSelector: String
    /// Objects per list page (`limit`). Default 500.
    public var pageSize: Int
    /// The server ends each watch after this long (`timeoutSeconds`); the informer then watches
    /// again from where it was. Default 300.
    public var watchTimeoutSeconds: Int
    /// The first wait after a failure, doubled with each further one up to ``maxBackoff``, with
    /// jitter. Default 200 ms.
    public var initialBackoff: Duration
    /// Default 30 s.
    public var maxBackoff: Duration
    /// The longest watch event accepted; a longer one is an error that leads to a new list (whose
    /// answer may be up to 16 MiB). Default 4 MiB.
    public var maxEventBytes: Int
    /// A label whose values ``SandboxInformer/objects(labeled:)`` finds without a scan (the backend's
    /// `sandbox-id`). Default none.
    public var indexedLabel: String?

    public init(
      version: SandboxAPIVersion = .v1beta1, namespaces: [String] = [], labelSelector: String = "managed-by=agentcube",
      pageSize: Int = 500, watchTimeoutSeconds: Int = 300, initialBackoff: Duration = .milliseconds(200),
      maxBackoff: Duration = .seconds(30), maxEventBytes: Int = 4 << 20, indexedLabel: String? = nil
    ) {
      self.version = version
      self.namespaces = namespaces
      self.labelSelector = labelSelector
      self.pageSize = pageSize
      self.watchTimeoutSeconds = watchTimeoutSeconds
      self.initialBackoff = initialBackoff
      self.maxBackoff = maxBackoff
      self.maxEventBytes = maxEventBytes
      self.indexedLabel = indexedLabel
    }

    public static var defaults: Configuration { Configuration() }
  }

  /// Counters, for tests and logs.
  public struct Statistics: Sendable, Hashable {
    /// Complete lists (every page read).
    public var lists = 0
    /// List requests (pages).
    public var listPages = 0
    /// Watch requests the server accepted.
    public var watches = 0
    /// Lists made anew because a watch's resourceVersion had expired (410).
    public var relistsAfterExpiry = 0
    /// Reconnects after errors: a failed list or watch, a cut stream, an unusable event.
    public var reconnects = 0
    /// Watches the server ended cleanly (their `timeoutSeconds`).
    public var watchTimeouts = 0
    /// ADDED, MODIFIED and DELETED events that changed the cache or confirmed it.
    public var eventsApplied = 0
    /// Events older than what the cache holds (read-your-own-writes), not applied.
    public var staleEventsIgnored = 0
    /// BOOKMARKs received.
    public var bookmarks = 0

    public init() {}
  }
}
