import Foundation
import KubernetesEmulator

/// The Kubernetes manifests of `k8s/` and an RBAC authorizer over their Roles and bindings, to hold
/// the requests the product makes (the emulator's request log) against what the manifests grant.
///
/// ```swift
/// let manifests = try RBACManifests.load()
/// #expect(manifests.disallowed(emulator.requests(by: RBACManifests.serverUsername)) == [])
/// #expect(!manifests.allows(username: RBACManifests.serverUsername,
///   groups: RBACManifests.groups(ofUsername: RBACManifests.serverUsername),
///   attributes: ResourceAttributes(verb: "create", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a")))
/// ```
///
/// It decides as kube's RBAC authorizer does (`rbac.authorization.k8s.io/v1`): a ClusterRoleBinding
/// grants its ClusterRole's rules everywhere; a RoleBinding grants its Role's or ClusterRole's rules
/// in its own namespace only, so a cluster-scoped request, or a list or watch of every namespace,
/// needs a ClusterRoleBinding. Aggregated ClusterRoles, built-in roles (`system:*`, which are not in
/// the files) and non-resource URLs are not modelled: what they would grant is never allowed here.
public struct RBACManifests: Sendable {
  /// The server's account (`k8s/serviceaccount.yaml`), as the API server names it.
  public static let serverUsername = "system:serviceaccount:agentcube-system:agentcube"
  /// The example caller's account (`k8s/example-caller-rbac.yaml`).
  public static let callerUsername = "system:serviceaccount:team-a:agent"

  /// Every object of every file, in file order.
  public var objects: [ManifestObject]
  /// The Roles and ClusterRoles among ``objects``.
  public var roles: [Role]
  /// The RoleBindings and ClusterRoleBindings among ``objects``.
  public var bindings: [Binding]

  /// The repository this file is in (found from its path at build time).
  public static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
  }

  /// The manifests of `<repositoryRoot>/k8s`.
  public static func load(repositoryRoot: URL = repositoryRoot) throws -> RBACManifests {
    try RBACManifests(directory: repositoryRoot.appendingPathComponent("k8s"))
  }

  /// Every `*.yaml` and `*.yml` file of `directory` (not its subdirectories), by name.
  public init(directory: URL) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
      .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
    guard !names.isEmpty else { throw RBACManifestError(file: directory.path, message: "no manifests") }
    var objects: [ManifestObject] = []
    for name in names {
      let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
      objects += try ManifestObject.parse(yaml: text, file: name)
    }
    try self.init(objects: objects)
  }

  /// The manifests of one YAML text (a test's synthetic policy).
  public init(yaml: String, file: String = "manifest.yaml") throws {
    try self.init(objects: ManifestObject.parse(yaml: yaml, file: file))
  }

  /// - Throws: ``RBACManifestError`` for an RBAC object the API server would refuse (or that this
  ///   authorizer cannot model, such as an aggregated ClusterRole), or two of the same name.
  public init(objects: [ManifestObject]) throws {
    self.objects = objects
    var roles: [Role] = []
    var bindings: [Binding] = []
    for object in objects where object.apiVersion.hasPrefix("rbac.authorization.k8s.io/") {
      guard object.apiVersion == "rbac.authorization.k8s.io/v1" else {
        throw RBACManifestError(file: object.file, message: "\(object): \(object.apiVersion) is no longer served")
      }
      switch object.kind {
      case "Role", "ClusterRole": roles.append(try Self.role(object))
      case "RoleBinding", "ClusterRoleBinding": bindings.append(try Self.binding(object))
      default: throw RBACManifestError(file: object.file, message: "unknown RBAC kind '\(object.kind)'")
      }
    }
    for (index, role) in roles.enumerated()
    where roles[..<index].contains(where: { $0.name == role.name && $0.namespace == role.namespace }) {
      throw RBACManifestError(file: "", message: "two \(role.kind)s named \(role.name)")
    }
    for (index, binding) in bindings.enumerated()
    where bindings[..<index].contains(where: { $0.name == binding.name && $0.namespace == binding.namespace }) {
      throw RBACManifestError(file: "", message: "two \(binding.kind)s named \(binding.name)")
    }
    self.roles = roles
    self.bindings = bindings
  }

  /// The objects of `kind` (all files).
  public func objects(kind: String) -> [ManifestObject] { objects.filter { $0.kind == kind } }

  /// The role a binding refers to, when the manifests have it: a ClusterRole, or a Role in the
  /// RoleBinding's namespace.
  public func role(for binding: Binding) -> Role? {
    let namespace = binding.roleKind == "Role" ? binding.namespace : nil
    return roles.first { $0.name == binding.roleName && $0.namespace == namespace }
  }
}

extension RBACManifests {
  private static func role(_ object: ManifestObject) throws -> Role {
    let clusterScoped = object.kind == "ClusterRole"
    let namespace = try scope(of: object, clusterScoped: clusterScoped)
    if !object.body["aggregationRule"].isNull {
      throw RBACManifestError(file: object.file, message: "\(object): aggregationRule is not modelled")
    }
    var rules: [Rule] = []
    for entry in object.body["rules"].array ?? [] {
      let rule = Rule(
        apiGroups: try strings(entry["apiGroups"], object), resources: try strings(entry["resources"], object),
        verbs: try strings(entry["verbs"], object), resourceNames: try strings(entry["resourceNames"], object),
        nonResourceURLs: try strings(entry["nonResourceURLs"], object))
      // The API server's validation of a PolicyRule.
      guard !rule.verbs.isEmpty else {
        throw RBACManifestError(file: object.file, message: "\(object): a rule without verbs")
      }
      if !rule.nonResourceURLs.isEmpty {
        guard clusterScoped else {
          throw RBACManifestError(file: object.file, message: "\(object): nonResourceURLs in a namespaced Role")
        }
      } else if rule.resources.isEmpty || rule.apiGroups.isEmpty {
        throw RBACManifestError(file: object.file, message: "\(object): a rule needs apiGroups and resources")
      }
      rules.append(rule)
    }
    return Role(name: object.name, namespace: namespace, rules: rules)
  }

  private static func binding(_ object: ManifestObject) throws -> Binding {
    let clusterScoped = object.kind == "ClusterRoleBinding"
    let namespace = try scope(of: object, clusterScoped: clusterScoped)
    let reference = object.body["roleRef"]
    guard reference["apiGroup"].string == "rbac.authorization.k8s.io", let roleName = reference["name"].string,
      let roleKind = reference["kind"].string, roleKind == "ClusterRole" || (roleKind == "Role" && !clusterScoped)
    else {
      throw RBACManifestError(
        file: object.file, message: "\(object): roleRef must name a ClusterRole\(clusterScoped ? "" : " or a Role")")
    }
    var subjects: [Subject] = []
    for entry in object.body["subjects"].array ?? [] {
      guard let kind = entry["kind"].string, let name = entry["name"].string, !name.isEmpty else {
        throw RBACManifestError(file: object.file, message: "\(object): a subject without kind or name")
      }
      let subject = Subject(kind: kind, name: name, namespace: entry["namespace"].string)
      switch kind {
      case "ServiceAccount":
        guard entry["apiGroup"].string ?? "" == "" else {
          throw RBACManifestError(file: object.file, message: "\(object): a ServiceAccount subject's apiGroup is \"\"")
        }
        if clusterScoped && subject.namespace == nil {
          throw RBACManifestError(file: object.file, message: "\(object): \(subject) needs a namespace")
        }
      case "User", "Group":
        guard entry["apiGroup"].string == "rbac.authorization.k8s.io" else {
          throw RBACManifestError(
            file: object.file, message: "\(object): a \(kind) subject's apiGroup is rbac.authorization.k8s.io")
        }
      default:
        throw RBACManifestError(file: object.file, message: "\(object): unknown subject kind '\(kind)'")
      }
      subjects.append(subject)
    }
    return Binding(name: object.name, namespace: namespace, roleKind: roleKind, roleName: roleName, subjects: subjects)
  }

  /// A namespaced RBAC object's namespace (the files must say it: there is no kubectl context
  /// here); `nil` for a cluster-scoped one, which must name none.
  private static func scope(of object: ManifestObject, clusterScoped: Bool) throws -> String? {
    guard !object.name.isEmpty else {
      throw RBACManifestError(file: object.file, message: "\(object.kind) without a name")
    }
    if clusterScoped {
      guard object.namespace == nil else {
        throw RBACManifestError(file: object.file, message: "\(object): a cluster-scoped object with a namespace")
      }
      return nil
    }
    guard let namespace = object.namespace, !namespace.isEmpty else {
      throw RBACManifestError(file: object.file, message: "\(object): metadata.namespace is required here")
    }
    return namespace
  }

  private static func strings(_ value: JSONValue, _ object: ManifestObject) throws -> [String] {
    if value.isNull { return [] }
    guard let items = value.array else {
      throw RBACManifestError(file: object.file, message: "\(object): a rule field that is not a list")
    }
    return try items.map { item in
      guard let text = item.string else {
        throw RBACManifestError(file: object.file, message: "\(object): a rule entry that is not a string")
      }
      return text
    }
  }
}
