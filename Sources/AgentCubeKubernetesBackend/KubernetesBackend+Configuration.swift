public import AgentCubeCore
public import AgentCubeKubernetes

extension KubernetesBackend {
  /// How sessions become Sandbox objects. Start from ``init()`` and change what differs.
  public struct Configuration: Sendable {
    /// The Sandbox API version: `v1beta1` (agent-sandbox v1.0, the default) or `v1alpha1`.
    public var version: SandboxAPIVersion = .v1beta1
    /// Namespaces the informer watches; empty for all (cluster-wide list and watch).
    public var namespaces: [String] = []
    /// `runtimeClassName` of the sandboxes' pods (e.g. `gvisor`, `kata`); `nil` for the cluster's default.
    public var runtimeClassName: String?
    /// The port of the sandboxes' SSH servers (OpenTunnel's default port). Default 22.
    public var sshPort: Int = 22
    /// The value of the `managed-by` label on every Sandbox the server makes and watches.
    public var managedBy = "agentcube"
    /// Activity is written back to a Sandbox at most this often. Default 30 s.
    public var activityWriteInterval: Duration = .seconds(30)
    /// How often expired and idle sessions are looked for and deleted. Default 5 s.
    public var collectionInterval: Duration = .seconds(5)
    /// While a create waits for readiness, the object is also read directly this often, in case
    /// the watch is down. Default 2 s.
    public var readinessPollInterval: Duration = .seconds(2)
    /// Per-caller API clients kept (by `namespace:serviceaccount`). Default 1000.
    public var callerClientCapacity = 1000
    /// The time of day for TTLs, idle timeouts and activity.
    public var wallClock: WallClock = .system

    public init() {}
  }
}
