/// One served resource type of one API version.
struct ResourceType: Sendable, Hashable {
  /// `""` for the core group.
  var group: String
  var version: String
  /// The plural (`sandboxes`).
  var resource: String
  var kind: String
  /// Field selectors besides `metadata.name` and `metadata.namespace`.
  var extraFieldSelectors: [String] = []

  var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
  /// `/apis/<group>/<version>` or `/api/v1`.
  var prefix: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }
  var listKind: String { kind + "List" }

  static func sandboxes(_ version: SandboxVersion) -> ResourceType {
    ResourceType(group: SandboxSchema.group, version: version.rawValue, resource: SandboxSchema.resource, kind: "Sandbox")
  }
  static let pods = ResourceType(
    group: "", version: "v1", resource: "pods", kind: "Pod", extraFieldSelectors: ["spec.nodeName", "status.phase"])

  func key(_ namespace: String, _ name: String) -> ObjectKey {
    ObjectKey(resource: resource, namespace: namespace, name: name)
  }

  func notFound(_ name: String) -> KubeStatus { .notFound(group: group, resource: resource, name: name) }

  func access(_ verb: String, named: Bool = false, namespaced: Bool = true, watchable: Bool = false) -> RouteAccess {
    RouteAccess(
      verb: verb, group: group, resource: resource, namespaceParameter: namespaced ? "namespace" : nil,
      nameParameter: named ? "name" : nil, watchable: watchable)
  }
}
