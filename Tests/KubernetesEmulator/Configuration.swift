/// How a ``KubernetesEmulator`` starts.
public struct EmulatorConfiguration: Sendable {
  /// PEM file of the server certificate (a chain may follow it). Required.
  public var certificatePath: String
  /// PEM file of its private key. Required.
  public var privateKeyPath: String
  /// The loopback port; default 0 (the kernel picks one; ``KubernetesEmulator/url`` tells it).
  public var port: Int
  /// The tokens accepted at start; default none. Change them later through ``KubernetesEmulator/tokens``.
  public var tokens: [TokenRecord]
  /// The API server's own audiences, the target of a TokenReview that names none;
  /// default `["https://kubernetes.default.svc.cluster.local"]` (kube's default issuer).
  public var apiAudiences: [String]
  /// The largest request body accepted; default 1 MiB; larger ones get 413.
  public var maxBodyBytes: Int
  /// How many requests the log keeps; default 256.
  public var requestLogLimit: Int
  /// Routes served besides the built-in ones (TokenReview); default none. Later resources
  /// (sandboxes, pods, watches) plug in here or beside TokenReview in `Resources/`.
  public var routes: [Route] = []
  /// Sandboxes (`agents.x-k8s.io`): the served versions and the controller; default v1beta1 only,
  /// the controller on. Pods (`/api/v1/…/pods`) are always served.
  public var sandboxes: SandboxAPIConfiguration = .defaults
  /// Watch behaviour at start (bookmark interval, default timeout, split chunks).
  public var watch: WatchSettings = .defaults
  /// The wall clock of creation timestamps, conditions and `shutdownTime`; default the system's.
  public var clock = EmulatorClock()

  public init(
    certificatePath: String, privateKeyPath: String, port: Int = 0, tokens: [TokenRecord] = [],
    apiAudiences: [String] = ["https://kubernetes.default.svc.cluster.local"], maxBodyBytes: Int = 1 << 20,
    requestLogLimit: Int = 256
  ) {
    self.certificatePath = certificatePath
    self.privateKeyPath = privateKeyPath
    self.port = port
    self.tokens = tokens
    self.apiAudiences = apiAudiences
    self.maxBodyBytes = maxBodyBytes
    self.requestLogLimit = requestLogLimit
  }
}
