import KubernetesEmulator

extension RBACManifests {
  /// One `rules[]` entry of a Role or ClusterRole (rbac.authorization.k8s.io/v1 `PolicyRule`).
  public struct Rule: Sendable, Hashable, CustomStringConvertible {
    public var apiGroups: [String]
    /// Resources, `resource/subresource` (`sandboxes/status`), `*`, or `*/subresource`.
    public var resources: [String]
    public var verbs: [String]
    /// When not empty, only requests naming one of these objects.
    public var resourceNames: [String]
    /// Paths such as `/healthz` or `/apis/*`; they never grant a resource request.
    public var nonResourceURLs: [String]

    public init(
      apiGroups: [String] = [], resources: [String] = [], verbs: [String], resourceNames: [String] = [],
      nonResourceURLs: [String] = []
    ) {
      self.apiGroups = apiGroups
      self.resources = resources
      self.verbs = verbs
      self.resourceNames = resourceNames
      self.nonResourceURLs = nonResourceURLs
    }

    /// Whether the rule grants a resource request, as kube's `RuleAllows` decides: the verb, the
    /// group, the resource (with its subresource: `attributes.resource` may be `sandboxes/status`)
    /// and, when the rule names objects, the object's name. A rule naming objects never grants
    /// `create` or `list` (they have no name).
    public func allows(_ attributes: ResourceAttributes) -> Bool {
      (verbs.contains("*") || verbs.contains(attributes.verb))
        && (apiGroups.contains("*") || apiGroups.contains(attributes.group))
        && matchesResource(attributes.resource)
        && (resourceNames.isEmpty || attributes.name.map(resourceNames.contains) == true)
    }

    private func matchesResource(_ requested: String) -> Bool {
      let subresource = requested.split(separator: "/", maxSplits: 1).dropFirst().first.map(String.init)
      for resource in resources {
        if resource == "*" || resource == requested { return true }
        if let subresource, resource == "*/" + subresource { return true }
      }
      return false
    }

    public var description: String {
      var parts = ["verbs \(verbs)"]
      if !apiGroups.isEmpty { parts.append("apiGroups \(apiGroups)") }
      if !resources.isEmpty { parts.append("resources \(resources)") }
      if !resourceNames.isEmpty { parts.append("resourceNames \(resourceNames)") }
      if !nonResourceURLs.isEmpty { parts.append("nonResourceURLs \(nonResourceURLs)") }
      return parts.joined(separator: " ")
    }
  }

  /// A Role (with its namespace) or a ClusterRole (`namespace` `nil`).
  public struct Role: Sendable, Hashable {
    public var name: String
    public var namespace: String?
    public var rules: [Rule]

    public init(name: String, namespace: String?, rules: [Rule]) {
      self.name = name
      self.namespace = namespace
      self.rules = rules
    }

    public var kind: String { namespace == nil ? "ClusterRole" : "Role" }
  }

  /// Whom a binding names: a user, a group, or a service account.
  public struct Subject: Sendable, Hashable, CustomStringConvertible {
    /// `User`, `Group` or `ServiceAccount`.
    public var kind: String
    public var name: String
    /// A service account's namespace; `nil`: the binding's own (RoleBindings only).
    public var namespace: String?

    public init(kind: String, name: String, namespace: String? = nil) {
      self.kind = kind
      self.name = name
      self.namespace = namespace
    }

    /// Whether it names the user, as kube's `appliesToUser`: a `User` by name, a `Group` by
    /// membership, a `ServiceAccount` by `system:serviceaccount:<namespace>:<name>`.
    public func applies(toUsername username: String, groups: [String], bindingNamespace: String?) -> Bool {
      switch kind {
      case "User": return name == username
      case "Group": return groups.contains(name)
      case "ServiceAccount":
        guard let namespace = namespace ?? bindingNamespace, !namespace.isEmpty else { return false }
        return username == "system:serviceaccount:\(namespace):\(name)"
      default: return false
      }
    }

    public var description: String { "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name)" }
  }

  /// A RoleBinding (granting in its namespace) or a ClusterRoleBinding (`namespace` `nil`: everywhere).
  public struct Binding: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var namespace: String?
    /// `Role` or `ClusterRole`.
    public var roleKind: String
    public var roleName: String
    public var subjects: [Subject]

    public init(name: String, namespace: String?, roleKind: String, roleName: String, subjects: [Subject]) {
      self.name = name
      self.namespace = namespace
      self.roleKind = roleKind
      self.roleName = roleName
      self.subjects = subjects
    }

    public var kind: String { namespace == nil ? "ClusterRoleBinding" : "RoleBinding" }

    public func applies(toUsername username: String, groups: [String]) -> Bool {
      subjects.contains { $0.applies(toUsername: username, groups: groups, bindingNamespace: namespace) }
    }

    public var description: String {
      "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name) → \(roleKind) \(roleName)"
    }
  }

  /// A rule that applies to a user, where it applies, and through which binding.
  public struct Grant: Sendable, Hashable, CustomStringConvertible {
    public var rule: Rule
    /// The namespace a RoleBinding grants it in; `nil`: everywhere, the cluster scope included.
    public var namespace: String?
    public var binding: Binding

    public var description: String { "\(rule) in \(namespace ?? "every namespace and the cluster scope") (\(binding))" }
  }
}
