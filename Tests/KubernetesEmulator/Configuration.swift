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
  /// Client certificates the emulator accepts besides bearer tokens; default none (no certificate
  /// is asked for).
  public var clientCertificates: ClientCertificateAuthentication?
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

/// Authentication by client certificate, as kube-apiserver's `--client-ca-file` gives it: a
/// certificate the CA signed is optional; when one is presented it must verify, and it makes its
/// CN the user and its O entries the groups (tried before a bearer token, as kube does).
public struct ClientCertificateAuthentication: Sendable {
  /// PEM file of the CA that signs client certificates.
  public var certificateAuthorityPath: String
  /// What each user (a CN) may do; a user not named here is authenticated and may do nothing.
  public var permissions: [String: Set<Permission>]

  public init(certificateAuthorityPath: String, permissions: [String: Set<Permission>] = [:]) {
    self.certificateAuthorityPath = certificateAuthorityPath
    self.permissions = permissions
  }
}
