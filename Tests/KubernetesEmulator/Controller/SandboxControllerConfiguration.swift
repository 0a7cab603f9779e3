/// How the emulated agent-sandbox controller runs sandboxes.
public struct SandboxControllerConfiguration: Sendable {
  /// Whether the controller runs; default true. Off, sandboxes get no pod and no status.
  public var enabled: Bool
  /// The port each pod's sshd listens on, on the pod's own address; default 22 (what a backend
  /// dialling `podIP:22` needs; binding it takes root, which these machines have).
  public var sshPort: Int
  /// An image whose name contains this fails: the pod `Failed`, the sandbox `Finished=True`
  /// (`PodFailed`) and `Ready=False` (`PodFailed`); default `"fail"`.
  public var failingImageMarker: String
  /// An image whose name contains this completes: `Finished=True` (`PodSucceeded`); default `"succeed"`.
  public var succeedingImageMarker: String
  /// An image whose name contains this runs but never gets ready (no sshd):
  /// `Ready=False` (`DependenciesNotReady`, "Pod is Running but not Ready"); default `"never-ready"`.
  public var neverReadyImageMarker: String
  /// Whether `status.podIPs` is set; default true. False emulates an older controller: clients
  /// find the address through the pod (named by `agents.x-k8s.io/pod-name` or after the sandbox).
  public var setsPodIPs: Bool
  /// Whether `spec.shutdownTime` ends a sandbox; default true. False emulates a cluster whose
  /// controller never does (an older agent-sandbox): only a client's delete ends it.
  public var actsOnShutdownTime: Bool
  /// How often expired `shutdownTime`s are looked for without ``SandboxController/tick()``;
  /// default 1 s; `nil`: only on `tick()` and on changes of the sandbox.
  public var expiryCheckInterval: Duration?
  /// How long an sshd may take to listen before its pod fails; default 10 s.
  public var readinessTimeout: Duration
  /// Where each sandbox's sshd keeps its host key, authorized keys and log; default a fresh
  /// directory under the system's temporary directory, removed by ``KubernetesEmulator/stop()``.
  public var stateDirectory: String?
  /// default `/usr/sbin/sshd`.
  public var sshdPath: String
  /// default `/usr/bin/ssh-keygen`.
  public var sshKeygenPath: String
  /// The node name pods are "scheduled" on (`spec.nodeName`, `status.nodeName`); default `emulated-node`.
  public var nodeName: String

  public init(
    enabled: Bool = true, sshPort: Int = 22, failingImageMarker: String = "fail",
    succeedingImageMarker: String = "succeed", neverReadyImageMarker: String = "never-ready", setsPodIPs: Bool = true,
    actsOnShutdownTime: Bool = true, expiryCheckInterval: Duration? = .seconds(1), readinessTimeout: Duration = .seconds(10),
    stateDirectory: String? = nil, sshdPath: String = "/usr/sbin/sshd", sshKeygenPath: String = "/usr/bin/ssh-keygen",
    nodeName: String = "emulated-node"
  ) {
    self.enabled = enabled
    self.sshPort = sshPort
    self.failingImageMarker = failingImageMarker
    self.succeedingImageMarker = succeedingImageMarker
    self.neverReadyImageMarker = neverReadyImageMarker
    self.setsPodIPs = setsPodIPs
    self.actsOnShutdownTime = actsOnShutdownTime
    self.expiryCheckInterval = expiryCheckInterval
    self.readinessTimeout = readinessTimeout
    self.stateDirectory = stateDirectory
    self.sshdPath = sshdPath
    self.sshKeygenPath = sshKeygenPath
    self.nodeName = nodeName
  }

  public static var defaults: SandboxControllerConfiguration { SandboxControllerConfiguration() }
}

/// The Sandbox API: which versions are served, and the controller behind it.
public struct SandboxAPIConfiguration: Sendable {
  /// The versions of `agents.x-k8s.io` served; default `[.v1beta1]` (agent-sandbox v1.0);
  /// `[.v1alpha1, .v1beta1]` is v0.5; empty: the CRD is not installed (404).
  public var servedVersions: [SandboxVersion]
  public var controller: SandboxControllerConfiguration

  public init(servedVersions: [SandboxVersion] = [.v1beta1], controller: SandboxControllerConfiguration = .defaults) {
    self.servedVersions = servedVersions
    self.controller = controller
  }

  public static var defaults: SandboxAPIConfiguration { SandboxAPIConfiguration() }
}
