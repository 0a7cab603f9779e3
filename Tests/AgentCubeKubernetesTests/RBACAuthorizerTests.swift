import AgentCubeTestSupport
import KubernetesEmulator
import Testing

/// The manifests' RBAC checker against kube's RBAC semantics, on synthetic policies.
@Suite struct RBACAuthorizerTests {
  static let policy = """
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: sandbox-reader}
    rules:
      - apiGroups: ["agents.x-k8s.io"]
        resources: ["sandboxes"]
        verbs: ["get", "list", "watch"]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: everything-core}
    rules:
      - apiGroups: [""]
        resources: ["*"]
        verbs: ["*"]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {name: one-pod, namespace: team-a}
    rules:
      - apiGroups: [""]
        resources: ["pods"]
        resourceNames: ["p1"]
        verbs: ["get", "delete"]
      - apiGroups: ["*"]
        resources: ["*/status"]
        verbs: ["get"]
    ---
    # A ClusterRole bound in one namespace grants there only.
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: readers, namespace: team-a}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sandbox-reader}
    subjects:
      - {kind: ServiceAccount, name: agent}   # the binding's namespace
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: one-pod, namespace: team-a}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: one-pod}
    subjects:
      - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:serviceaccounts:team-a"}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: watcher}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: sandbox-reader}
    subjects:
      - {kind: ServiceAccount, name: watcher, namespace: ops}
      - {kind: User, apiGroup: rbac.authorization.k8s.io, name: jane@example.com}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: admins}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: everything-core}
    subjects:
      - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: admins}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: dangling}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: not-in-the-files}
    subjects:
      - {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "system:authenticated"}
    """

  static let agent = "system:serviceaccount:team-a:agent"

  let manifests: RBACManifests

  init() throws { manifests = try RBACManifests(yaml: Self.policy) }

  func allows(
    _ username: String, groups: [String]? = nil, _ verb: String, _ group: String, _ resource: String,
    namespace: String? = nil, name: String? = nil
  ) -> Bool {
    manifests.allows(
      username: username, groups: groups ?? RBACManifests.groups(ofUsername: username),
      attributes: ResourceAttributes(verb: verb, group: group, resource: resource, namespace: namespace, name: name))
  }

  @Test func aRoleBindingGrantsOnlyInItsNamespaceAndNeverAtTheClusterScope() {
    #expect(allows(Self.agent, "get", "agents.x-k8s.io", "sandboxes", namespace: "team-a", name: "s1"))
    #expect(allows(Self.agent, "list", "agents.x-k8s.io", "sandboxes", namespace: "team-a"))
    #expect(!allows(Self.agent, "list", "agents.x-k8s.io", "sandboxes", namespace: "team-b"))
    // Every namespace at once is the cluster scope: a RoleBinding cannot grant it.
    #expect(!allows(Self.agent, "list", "agents.x-k8s.io", "sandboxes"))
    #expect(!allows(Self.agent, "create", "agents.x-k8s.io", "sandboxes", namespace: "team-a"))
  }

  @Test func aClusterRoleBindingGrantsEverywhereAndAtTheClusterScope() {
    let watcher = "system:serviceaccount:ops:watcher"
    for namespace in ["team-a", "team-b", "ops", nil] as [String?] {
      #expect(allows(watcher, "watch", "agents.x-k8s.io", "sandboxes", namespace: namespace))
    }
    #expect(!allows(watcher, "patch", "agents.x-k8s.io", "sandboxes", namespace: "ops", name: "s1"))
    #expect(!allows(watcher, "get", "", "pods", namespace: "ops", name: "s1"), "another group")
    // The same name in another namespace is another service account.
    #expect(!allows("system:serviceaccount:team-a:watcher", "watch", "agents.x-k8s.io", "sandboxes"))
  }

  @Test func subjectsMatchUsersByNameGroupsByMembershipAndServiceAccountsByNamespace() {
    #expect(allows("jane@example.com", "list", "agents.x-k8s.io", "sandboxes"))
    #expect(!allows("john@example.com", "list", "agents.x-k8s.io", "sandboxes"))
    #expect(allows("john@example.com", groups: ["admins"], "delete", "", "secrets", namespace: "x", name: "y"))
    #expect(!allows("john@example.com", groups: ["admins"], "get", "apps", "deployments", namespace: "x", name: "y"))
    // The group subject `system:serviceaccounts:team-a` takes in every account of team-a.
    #expect(allows("system:serviceaccount:team-a:other", "get", "", "pods", namespace: "team-a", name: "p1"))
    #expect(!allows("system:serviceaccount:team-b:other", "get", "", "pods", namespace: "team-a", name: "p1"))
    #expect(
      RBACManifests.groups(ofUsername: Self.agent) == [
        "system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated",
      ])
    #expect(RBACManifests.groups(ofUsername: "jane@example.com") == ["system:authenticated"])
    #expect(RBACManifests.groups(ofUsername: "system:serviceaccount:team-a") == ["system:authenticated"])
  }

  @Test func resourceNamesLimitARuleToNamedObjectsSoNeverToCreateOrList() {
    #expect(allows(Self.agent, "get", "", "pods", namespace: "team-a", name: "p1"))
    #expect(allows(Self.agent, "delete", "", "pods", namespace: "team-a", name: "p1"))
    #expect(!allows(Self.agent, "get", "", "pods", namespace: "team-a", name: "p2"))
    #expect(!allows(Self.agent, "list", "", "pods", namespace: "team-a"))
    #expect(!allows(Self.agent, "create", "", "pods", namespace: "team-a"))
    #expect(!allows(Self.agent, "patch", "", "pods", namespace: "team-a", name: "p1"), "a verb the rule lacks")
  }

  @Test func wildcardsMatchAnyVerbResourceOrGroupAndStarSlashASubresourceOfAny() {
    let admin = ["admins"]
    for verb in ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"] {
      #expect(allows("root", groups: admin, verb, "", "configmaps", namespace: "n"))
    }
    #expect(allows("root", groups: admin, "get", "", "pods/log", namespace: "n", name: "p"), "* covers subresources")
    #expect(!allows("root", groups: admin, "get", "agents.x-k8s.io", "sandboxes", namespace: "n", name: "s"))
    // `*/status` in any group: the status subresource of anything, never the object itself.
    #expect(allows(Self.agent, "get", "agents.x-k8s.io", "sandboxes/status", namespace: "team-a", name: "s1"))
    #expect(allows(Self.agent, "get", "apps", "deployments/status", namespace: "team-a", name: "d"))
    #expect(!allows(Self.agent, "get", "apps", "deployments", namespace: "team-a", name: "d"))
    #expect(!allows(Self.agent, "get", "apps", "deployments/scale", namespace: "team-a", name: "d"))
    #expect(!allows(Self.agent, "update", "agents.x-k8s.io", "sandboxes/status", namespace: "team-a", name: "s1"))
  }

  @Test func aBindingToARoleTheFilesLackGrantsNothing() {
    #expect(!allows("anyone", "get", "", "namespaces", name: "default"))
    #expect(manifests.grants(username: "anyone", groups: ["system:authenticated"]).isEmpty)
  }

  @Test func disallowedReportsDeniedAndUnattributedRequestsButNotUnauthenticatedOnes() {
    let path = "/apis/agents.x-k8s.io/v1beta1/namespaces/team-a/sandboxes"
    let allowed = RequestRecord(
      method: "GET", path: path, route: RouteID("sandboxesList"), status: 200, user: Self.agent,
      attributes: ResourceAttributes(verb: "list", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a")
    )
    var denied = allowed
    denied.method = "POST"
    denied.attributes?.verb = "create"
    let unauthenticated = RequestRecord(method: "GET", path: path, route: RouteID("sandboxesList"), status: 401)
    let unrouted = RequestRecord(method: "GET", path: "/version", route: .unmatched, status: 404, user: Self.agent)
    #expect(manifests.disallowed([allowed, denied, unauthenticated, unrouted]) == [denied, unrouted])
    // Groups come from the caller when given: a human in `admins`.
    let human = RequestRecord(
      method: "DELETE", path: "/api/v1/namespaces/x/secrets/y", route: RouteID("secrets"), status: 200,
      user: "john@example.com",
      attributes: ResourceAttributes(verb: "delete", group: "", resource: "secrets", namespace: "x", name: "y"))
    #expect(manifests.disallowed([human]) == [human])
    #expect(manifests.disallowed([human], groups: { _ in ["admins"] }) == [])
  }

  @Test func emulatorPermissionsNeverGrantMoreThanTheRules() {
    let agent = manifests.emulatorPermissions(
      username: Self.agent, groups: RBACManifests.groups(ofUsername: Self.agent))
    // The named-pod and `*/status` rules cannot be said as permissions: left out.
    #expect(
      agent
        == Set(
          ["get", "list", "watch"].map {
            Permission(verb: $0, group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a")
          }))
    let watcher = manifests.emulatorPermissions(
      username: "system:serviceaccount:ops:watcher",
      groups: RBACManifests.groups(ofUsername: "system:serviceaccount:ops:watcher"))
    #expect(watcher.allSatisfy { $0.namespace == nil } && watcher.count == 3)
    #expect(
      manifests.emulatorPermissions(username: "x", groups: ["admins"]) == [
        Permission(verb: "*", group: "", resource: "*")
      ])
  }

  @Test(arguments: [
    (
      "a ClusterRoleBinding to a Role",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata: {name: b}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
      """
    ),
    (
      "a RoleBinding without a namespace",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: RoleBinding
      metadata: {name: b}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
      """
    ),
    (
      "an aggregated ClusterRole",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      aggregationRule: {clusterRoleSelectors: [{matchLabels: {a: b}}]}
      """
    ),
    (
      "a rule without verbs",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      rules: [{apiGroups: [""], resources: [pods]}]
      """
    ),
    (
      "a rule without apiGroups",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      rules: [{resources: [pods], verbs: [get]}]
      """
    ),
    (
      "a ServiceAccount subject of a ClusterRoleBinding without a namespace",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata: {name: b}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
      subjects: [{kind: ServiceAccount, name: sa}]
      """
    ),
    (
      "a User subject without its apiGroup",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRoleBinding
      metadata: {name: b}
      roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
      subjects: [{kind: User, name: jane}]
      """
    ),
    (
      "rbac v1beta1",
      """
      apiVersion: rbac.authorization.k8s.io/v1beta1
      kind: ClusterRole
      metadata: {name: r}
      """
    ),
    (
      "two ClusterRoles of one name",
      """
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      ---
      apiVersion: rbac.authorization.k8s.io/v1
      kind: ClusterRole
      metadata: {name: r}
      """
    ),
    ("a document that is not a mapping", "- just\n- a list\n"),
  ])
  func whatTheAPIServerWouldRefuseIsRefused(_ what: String, _ yaml: String) {
    #expect(throws: RBACManifestError.self, "\(what)") { try RBACManifests(yaml: yaml) }
  }

  @Test func scalarsKeepTheirYAMLTypes() throws {
    let objects = try ManifestObject.parse(
      yaml: "---\n# nothing\n---\nkind: X\nport: 7420\nquoted: \"7420\"\nmode: 0440\nenabled: true\nnone:\n",
      file: "f.yaml")
    let object = try #require(objects.first)
    #expect(objects.count == 1)
    #expect(object.body["port"] == .int(7420) && object.body["quoted"] == .string("7420"))
    #expect(object.body["mode"] == .int(0o440), "YAML 1.1 octal, as kubectl reads it")
    #expect(object.body["enabled"] == .bool(true) && object.body.object?["none"] == .null)
  }
}
