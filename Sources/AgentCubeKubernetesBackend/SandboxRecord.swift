import AgentCubeCore
import AgentCubeKubernetes
import Foundation

/// How a session is written into a Sandbox object and read back: the labels and annotations the
/// original server wrote (`sandbox-id`, `sandbox-name`, `managed-by`; creator, TTL, last
/// activity), plus what this server needs to give back exactly what it was asked (times in
/// milliseconds, the idle timeout, the SSH user, metadata in order).
enum SandboxRecord {
  static let idLabel = "sandbox-id"
  static let nameLabel = "sandbox-name"
  static let managedByLabel = "managed-by"

  enum Annotation {
    static let creator = "agentcube.dev/creator-service-account"
    static let ttl = "agentcube.dev/ttl"
    static let idleTimeout = "agentcube.dev/idle-timeout"
    static let createdAtMs = "agentcube.dev/created-at-ms"
    static let expiresAtMs = "agentcube.dev/expires-at-ms"
    static let lastActivity = "agentcube.dev/last-activity-time"
    static let lastActivityMs = "agentcube.dev/last-activity-ms"
    static let sshUser = "agentcube.dev/ssh-user"
    static let metadata = "agentcube.dev/metadata"
    /// Older controllers name the pod here.
    static let podName = "agents.x-k8s.io/pod-name"
  }

  /// The container every sandbox's pod runs.
  static let containerName = "sandbox"

  /// The Sandbox object for `spec`, ending at its expiry even when no server runs
  /// (`shutdownTime`, `shutdownPolicy: Delete`).
  static func object(for spec: SessionSpec, configuration: KubernetesBackend.Configuration) -> SandboxObject {
    var environment = [Container.EnvVar(name: "SSH_USER", value: spec.sshUser)]
    if !spec.sshPublicKey.isEmpty { environment.append(.init(name: "SSH_PUBLIC_KEY", value: spec.sshPublicKey)) }
    let metadata = (try? JSONEncoder().encode(spec.metadata.map { [$0.key, $0.value] })).map { String(decoding: $0, as: UTF8.self) }
    var annotations = [
      Annotation.creator: spec.creator,
      Annotation.ttl: String(spec.ttlSeconds),
      Annotation.idleTimeout: String(spec.idleTimeoutSeconds),
      Annotation.createdAtMs: String(spec.createdAtMs),
      Annotation.expiresAtMs: String(spec.expiresAtMs),
      Annotation.lastActivity: rfc3339(milliseconds: spec.createdAtMs),
      Annotation.lastActivityMs: String(spec.createdAtMs),
      Annotation.sshUser: spec.sshUser,
    ]
    annotations[Annotation.metadata] = metadata
    let labels = [idLabel: spec.id, nameLabel: spec.name, managedByLabel: configuration.managedBy]
    let pod = PodTemplate(
      metadata: .init(labels: labels),
      spec: PodSpec(
        containers: [Container(name: containerName, image: spec.image, env: environment)],
        runtimeClassName: configuration.runtimeClassName))
    var sandbox = SandboxSpec(
      podTemplate: pod, shutdownTime: shutdownTime(expiresAtMs: spec.expiresAtMs), shutdownPolicy: "Delete")
    switch configuration.version {
    case .v1beta1: sandbox.operatingMode = "Running"
    case .v1alpha1: sandbox.replicas = 1
    }
    return SandboxObject(
      apiVersion: configuration.version.apiVersion, kind: "Sandbox",
      metadata: ObjectMeta(name: spec.name, namespace: spec.namespace, labels: labels, annotations: annotations),
      spec: sandbox)
  }

  /// The session an object stands for; `nil` when it is not one of ours (no `sandbox-id`).
  static func session(from object: SandboxObject, sshPort: Int) -> Session? {
    let labels = object.metadata.labels ?? [:]
    let annotations = object.metadata.annotations ?? [:]
    guard let id = labels[idLabel], !id.isEmpty else { return nil }
    func number(_ key: String) -> Int64 { annotations[key].flatMap { Int64($0) } ?? 0 }
    let createdAtMs = number(Annotation.createdAtMs)
    let (status, message) = state(of: object)
    let metadata = annotations[Annotation.metadata]
      .flatMap { try? JSONDecoder().decode([[String]].self, from: Data($0.utf8)) }?
      .compactMap { $0.count == 2 ? KeyValue(key: $0[0], value: $0[1]) : nil } ?? []
    return Session(
      id: id, name: object.metadata.name ?? "", namespace: object.metadata.namespace ?? "", creator: creator(of: object),
      image: object.spec.podTemplate.spec.containers.first { $0.name == containerName }?.image ?? "",
      status: status, statusMessage: message, createdAtMs: createdAtMs, expiresAtMs: number(Annotation.expiresAtMs),
      lastActivityAtMs: max(number(Annotation.lastActivityMs), createdAtMs),
      ttlSeconds: UInt32(clamping: number(Annotation.ttl)), idleTimeoutSeconds: UInt32(clamping: number(Annotation.idleTimeout)),
      metadata: metadata, sshUser: annotations[Annotation.sshUser] ?? "", sshPort: UInt32(clamping: sshPort),
      address: podAddress(of: object) ?? "")
  }

  /// The creator the object names, when that is a service account of the object's own namespace;
  /// `""` otherwise, which matches no caller (fails closed: a missing or forged annotation gives
  /// nobody access, and a Sandbox in one namespace cannot lure a caller of another).
  static func creator(of object: SandboxObject) -> String {
    guard let value = object.metadata.annotations?[Annotation.creator], let namespace = object.metadata.namespace,
      let identity = try? Identity(username: value), identity.namespace == namespace
    else { return "" }
    return value
  }

  /// Whether `creator` is the creator `object` names (see ``creator(of:)``); a plain string
  /// comparison rules out other callers' objects first.
  static func isCreated(by creator: String, _ object: SandboxObject) -> Bool {
    object.metadata.annotations?[Annotation.creator] == creator && Self.creator(of: object) == creator
  }

  /// Running once `Ready=True` (the controller sets it only when the pod runs, is ready and has an
  /// IP; older controllers report no `podIPs`, and the address then comes from the pod); failed at
  /// a terminal condition; else pending.
  static func state(of object: SandboxObject) -> (SessionStatus, String) {
    if object.metadata.deletionTimestamp != nil { return (.terminating, "the Sandbox is being deleted") }
    if let failure = terminalFailure(of: object) { return (.failed, failure) }
    let ready = object.status?.condition("Ready")
    if ready?.status == "True" { return (.running, "") }
    return (.pending, ready.map { describe($0) } ?? "waiting for the Sandbox to become ready")
  }

  /// Why the sandbox will not become ready, when it never will: `Finished` (the pod ended), or
  /// `Ready=False` for a suspended or expired sandbox.
  static func terminalFailure(of object: SandboxObject) -> String? {
    if let finished = object.status?.condition("Finished"), finished.status == "True" { return describe(finished) }
    if let ready = object.status?.condition("Ready"), ready.status == "False",
      ["SandboxSuspended", "SandboxExpired"].contains(ready.reason ?? "")
    {
      return describe(ready)
    }
    return nil
  }

  /// The pod's address from `status.podIPs`, IPv4 first.
  static func podAddress(of object: SandboxObject) -> String? {
    let addresses = object.status?.podIPs ?? []
    return addresses.first { !$0.contains(":") } ?? addresses.first
  }

  static func describe(_ condition: Condition) -> String {
    let reason = condition.reason.map { " (\($0))" } ?? ""
    let message = condition.message.map { ": \($0)" } ?? ""
    return "\(condition.type)=\(condition.status)\(reason)\(message)"
  }

  /// `shutdownTime`: the expiry rounded up to the second (never before the session's own end).
  static func shutdownTime(expiresAtMs: Int64) -> String {
    rfc3339(milliseconds: (expiresAtMs + 999) / 1000 * 1000)
  }

  static func rfc3339(milliseconds: Int64) -> String {
    Date(timeIntervalSince1970: Double(milliseconds / 1000)).formatted(.iso8601)
  }
}
