/// The `agents.x-k8s.io` API versions of the Sandbox resource. agent-sandbox v1.0 serves only
/// `v1beta1`; `v1alpha1` is for older installs (it has `replicas` where v1beta1 has `operatingMode`).
public enum SandboxAPIVersion: String, Sendable, CaseIterable, Codable {
  case v1beta1
  case v1alpha1

  /// `agents.x-k8s.io/<version>`.
  public var apiVersion: String { "agents.x-k8s.io/\(rawValue)" }

  /// `/apis/agents.x-k8s.io/<version>/namespaces/<namespace>/sandboxes[/<name>]`, or without a
  /// namespace the cluster-wide collection.
  public func path(namespace: String? = nil, name: String? = nil) -> String {
    var path = "/apis/agents.x-k8s.io/\(rawValue)"
    if let namespace { path += "/namespaces/\(namespace)" }
    path += "/sandboxes"
    if let name { path += "/\(name)" }
    return path
  }
}

/// `metadata` of an object: what the product reads and writes (unknown fields are ignored when
/// decoding and never sent, since every write is a create of our own object or a merge patch).
public struct ObjectMeta: Codable, Sendable, Hashable {
  public var name: String?
  public var generateName: String?
  public var namespace: String?
  public var uid: String?
  public var resourceVersion: String?
  public var generation: Int64?
  public var creationTimestamp: String?
  public var deletionTimestamp: String?
  public var labels: [String: String]?
  public var annotations: [String: String]?

  public init(
    name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
    annotations: [String: String]? = nil
  ) {
    self.name = name
    self.namespace = namespace
    self.labels = labels
    self.annotations = annotations
  }
}

/// A Sandbox object of either version.
public struct SandboxObject: Codable, Sendable, Hashable {
  public var apiVersion: String?
  public var kind: String?
  public var metadata: ObjectMeta
  public var spec: SandboxSpec
  public var status: SandboxStatus?

  public init(
    apiVersion: String? = nil, kind: String? = "Sandbox", metadata: ObjectMeta, spec: SandboxSpec,
    status: SandboxStatus? = nil
  ) {
    self.apiVersion = apiVersion
    self.kind = kind
    self.metadata = metadata
    self.spec = spec
    self.status = status
  }

  /// `namespace/name`, the key of an object in a cache.
  public var key: String { "\(metadata.namespace ?? "")/\(metadata.name ?? "")" }
}

public struct SandboxSpec: Codable, Sendable, Hashable {
  public var podTemplate: PodTemplate
  /// v1beta1: `Running` or `Suspended`.
  public var operatingMode: String?
  /// v1alpha1: 0 or 1.
  public var replicas: Int?
  /// RFC 3339: the controller ends the sandbox then (with `shutdownPolicy`).
  public var shutdownTime: String?
  /// `Delete` or `Retain`.
  public var shutdownPolicy: String?
  public var service: Bool?

  public init(
    podTemplate: PodTemplate, operatingMode: String? = nil, replicas: Int? = nil, shutdownTime: String? = nil,
    shutdownPolicy: String? = nil, service: Bool? = nil
  ) {
    self.podTemplate = podTemplate
    self.operatingMode = operatingMode
    self.replicas = replicas
    self.shutdownTime = shutdownTime
    self.shutdownPolicy = shutdownPolicy
    self.service = service
  }
}

public struct PodTemplate: Codable, Sendable, Hashable {
  public struct Metadata: Codable, Sendable, Hashable {
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public init(labels: [String: String]? = nil, annotations: [String: String]? = nil) {
      self.labels = labels
      self.annotations = annotations
    }
  }

  public var metadata: Metadata?
  public var spec: PodSpec

  public init(metadata: Metadata? = nil, spec: PodSpec) {
    self.metadata = metadata
    self.spec = spec
  }
}

/// The part of a PodSpec the product writes.
public struct PodSpec: Codable, Sendable, Hashable {
  public var containers: [Container]
  public var runtimeClassName: String?

  public init(containers: [Container], runtimeClassName: String? = nil) {
    self.containers = containers
    self.runtimeClassName = runtimeClassName
  }
}

public struct Container: Codable, Sendable, Hashable {
  public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public init(name: String, value: String?) {
      self.name = name
      self.value = value
    }
  }

  public var name: String
  public var image: String?
  public var env: [EnvVar]?

  public init(name: String, image: String?, env: [EnvVar]? = nil) {
    self.name = name
    self.image = image
    self.env = env
  }
}

public struct SandboxStatus: Codable, Sendable, Hashable {
  public var conditions: [Condition]?
  public var podIPs: [String]?
  public var serviceFQDN: String?
  public var selector: String?
  public var nodeName: String?

  public init(conditions: [Condition]? = nil, podIPs: [String]? = nil) {
    self.conditions = conditions
    self.podIPs = podIPs
  }

  /// The condition of `type`, if reported.
  public func condition(_ type: String) -> Condition? { conditions?.first { $0.type == type } }
}

/// A `metav1.Condition`.
public struct Condition: Codable, Sendable, Hashable {
  public var type: String
  /// `True`, `False` or `Unknown`.
  public var status: String
  public var reason: String?
  public var message: String?
  public var lastTransitionTime: String?
  public var observedGeneration: Int64?

  public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
    self.type = type
    self.status = status
    self.reason = reason
    self.message = message
  }
}

/// A list answer: `metadata.resourceVersion` to watch from, `metadata.continue` for the next page.
public struct ObjectList<Item: Decodable & Sendable>: Decodable, Sendable {
  public struct ListMeta: Decodable, Sendable {
    public var resourceVersion: String?
    public var `continue`: String?
  }

  public var metadata: ListMeta
  public var items: [Item]
}
