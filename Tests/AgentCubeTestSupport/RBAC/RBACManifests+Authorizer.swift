import KubernetesEmulator

extension RBACManifests {
  /// The groups kube gives a user authenticated by token: for a service account
  /// `system:serviceaccounts`, `system:serviceaccounts:<namespace>` and `system:authenticated`; for
  /// anyone else `system:authenticated` only (pass a user's own groups where they matter).
  public static func groups(ofUsername username: String) -> [String] {
    let parts = username.split(separator: ":", omittingEmptySubsequences: false)
    if parts.count == 4, parts[0] == "system", parts[1] == "serviceaccount", !parts[2].isEmpty, !parts[3].isEmpty {
      return ["system:serviceaccounts", "system:serviceaccounts:\(parts[2])", "system:authenticated"]
    }
    return ["system:authenticated"]
  }

  /// Every rule that applies to the user, with where it applies: ClusterRoleBindings' everywhere,
  /// RoleBindings' in their namespace. Bindings to roles the manifests do not have grant nothing
  /// (as in kube, which logs them).
  public func grants(username: String, groups: [String]) -> [Grant] {
    bindings.filter { $0.applies(toUsername: username, groups: groups) }.flatMap { binding in
      (role(for: binding)?.rules ?? []).map { Grant(rule: $0, namespace: binding.namespace, binding: binding) }
    }
  }

  /// Whether the manifests let the user make the request, as kube's RBAC authorizer decides.
  ///
  /// `attributes.namespace` `nil` is the cluster scope, or every namespace for a list or watch: only
  /// ClusterRoleBindings grant those. `attributes.resource` may carry a subresource
  /// (`sandboxes/status`).
  public func allows(username: String, groups: [String], attributes: ResourceAttributes) -> Bool {
    grants(username: username, groups: groups).contains { grant in
      (grant.namespace == nil || grant.namespace == attributes.namespace) && grant.rule.allows(attributes)
    }
  }

  /// The records the manifests do not show to be allowed: authenticated requests whose attributes
  /// the rules deny, and authenticated requests without attributes (a path no route serves: nothing
  /// shows it allowed). Unauthenticated requests (`user` `nil`) never reach authorization and are
  /// left out.
  ///
  /// - Parameter groups: each user's groups; by default ``groups(ofUsername:)``.
  public func disallowed(
    _ records: [RequestRecord], groups: (String) -> [String] = RBACManifests.groups(ofUsername:)
  ) -> [RequestRecord] {
    records.filter { record in
      guard let user = record.user else { return false }
      guard let attributes = record.attributes else { return true }
      return !allows(username: user, groups: groups(user), attributes: attributes)
    }
  }

  /// What the manifests grant the user, as the emulator's permissions, so that the emulator
  /// answers the user's requests as a cluster with these manifests applied would.
  ///
  /// Never more than the manifests grant: rules the emulator's permissions cannot say (naming
  /// objects, subresources, `*` API groups, non-resource URLs) are left out, so the emulator may
  /// refuse what a cluster would allow (a test then fails) but never allows what it would refuse.
  public func emulatorPermissions(username: String, groups: [String]) -> Set<Permission> {
    var permissions: Set<Permission> = []
    for grant in grants(username: username, groups: groups) where grant.rule.resourceNames.isEmpty {
      for group in grant.rule.apiGroups where group != "*" {
        for resource in grant.rule.resources where !resource.contains("/") {
          for verb in grant.rule.verbs {
            permissions.insert(Permission(verb: verb, group: group, resource: resource, namespace: grant.namespace))
          }
        }
      }
    }
    return permissions
  }
}
