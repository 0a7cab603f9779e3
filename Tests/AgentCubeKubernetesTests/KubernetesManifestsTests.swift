import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// The `k8s/` manifests: well-formed, least privilege for the server, and consistent with each other,
/// with the Containerfile and with agentcubed's options.
@Suite struct KubernetesManifestsTests {
  let manifests: RBACManifests

  init() throws { manifests = try RBACManifests.load() }

  var server: ManifestObject { get throws { try #require(manifests.objects(kind: "Deployment").first) } }
  var podSpec: JSONValue { get throws { try server.body["spec"]["template"]["spec"] } }
  var container: JSONValue { get throws { try #require(try podSpec["containers"].array?.first) } }
  var arguments: [String] { get throws { try container["args"].array?.compactMap(\.string) ?? [] } }

  static let clusterScopedKinds: Set = ["Namespace", "ClusterRole", "ClusterRoleBinding"]

  @Test func everyObjectIsNamedTypedAndInTheNamespaceOfItsFile() {
    let applied = manifests.objects.filter { $0.kind != "Kustomization" }
    #expect(applied.count >= 10)
    for object in applied {
      #expect(object.apiVersion.contains("v1") && !object.name.isEmpty, "\(object)")
      if Self.clusterScopedKinds.contains(object.kind) {
        #expect(object.namespace == nil, "\(object)")
      } else {
        #expect(object.namespace == (object.file.hasPrefix("example-") ? "team-a" : "agentcube-system"), "\(object)")
      }
    }
  }

  @Test func theKustomizationAppliesEveryServerFileAndNoExample() throws {
    let kustomization = try #require(manifests.objects(kind: "Kustomization").first)
    let resources = Set(kustomization.body["resources"].array?.compactMap(\.string) ?? [])
    let files = Set(manifests.objects.map(\.file)).subtracting([kustomization.file])
    #expect(resources == files.filter { !$0.hasPrefix("example-") })
    #expect(
      kustomization.body["namespace"].isNull, "each file says its namespace; a kustomize one would move the example")
  }

  /// Every (verb, resource, scope) the manifests give the server's account.
  func flattened(_ grants: [RBACManifests.Grant]) -> Set<String> {
    var granted: Set<String> = []
    for grant in grants {
      for group in grant.rule.apiGroups {
        for resource in grant.rule.resources {
          for verb in grant.rule.verbs {
            granted.insert("\(verb) \(group.isEmpty ? resource : "\(resource).\(group)") in \(grant.namespace ?? "*")")
          }
        }
      }
    }
    return granted
  }

  @Test func theServerAccountMayDoExactlyWhatTheServerNeedsAndNothingMore() {
    let grants = manifests.grants(
      username: RBACManifests.serverUsername, groups: RBACManifests.groups(ofUsername: RBACManifests.serverUsername))
    #expect(
      flattened(grants) == [
        "create tokenreviews.authentication.k8s.io in *",
        "get sandboxes.agents.x-k8s.io in *", "list sandboxes.agents.x-k8s.io in *",
        "watch sandboxes.agents.x-k8s.io in *", "patch sandboxes.agents.x-k8s.io in *",
        "delete sandboxes.agents.x-k8s.io in *",
        "get pods in *",
      ])
    #expect(grants.allSatisfy { $0.rule.resourceNames.isEmpty && $0.rule.nonResourceURLs.isEmpty })
  }

  @Test(arguments: [
    ResourceAttributes(verb: "create", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a"),
    ResourceAttributes(verb: "update", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a", name: "s"),
    ResourceAttributes(
      verb: "patch", group: "agents.x-k8s.io", resource: "sandboxes/status", namespace: "team-a", name: "s"),
    ResourceAttributes(verb: "deletecollection", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a"),
    ResourceAttributes(
      verb: "create", group: "extensions.agents.x-k8s.io", resource: "sandboxclaims", namespace: "team-a"),
    ResourceAttributes(verb: "list", group: "", resource: "pods"),
    ResourceAttributes(verb: "create", group: "", resource: "pods", namespace: "team-a"),
    ResourceAttributes(verb: "create", group: "", resource: "pods/exec", namespace: "team-a", name: "s"),
    ResourceAttributes(
      verb: "get", group: "", resource: "secrets", namespace: "agentcube-system", name: "agentcube-tls"),
    ResourceAttributes(
      verb: "create", group: "", resource: "serviceaccounts/token", namespace: "team-a", name: "agent"),
    ResourceAttributes(verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews"),
    ResourceAttributes(verb: "impersonate", group: "", resource: "serviceaccounts", namespace: "team-a", name: "agent"),
  ])
  func theServerAccountCannot(_ attributes: ResourceAttributes) {
    let user = RBACManifests.serverUsername
    #expect(!manifests.allows(username: user, groups: RBACManifests.groups(ofUsername: user), attributes: attributes))
  }

  @Test func theExampleCallerManagesSandboxesInItsOwnNamespaceOnly() {
    let user = RBACManifests.callerUsername
    let groups = RBACManifests.groups(ofUsername: user)
    func allows(_ verb: String, _ namespace: String?, _ name: String? = nil) -> Bool {
      manifests.allows(
        username: user, groups: groups,
        attributes: ResourceAttributes(
          verb: verb, group: "agents.x-k8s.io", resource: "sandboxes", namespace: namespace, name: name))
    }
    #expect(allows("create", "team-a") && allows("list", "team-a"))
    for verb in ["delete", "get", "patch"] { #expect(allows(verb, "team-a", "sandbox-1")) }
    #expect(!allows("create", "team-b") && !allows("list", nil) && !allows("update", "team-a", "sandbox-1"))
    #expect(
      !manifests.allows(
        username: user, groups: groups,
        attributes: ResourceAttributes(verb: "create", group: "authentication.k8s.io", resource: "tokenreviews")))
  }

  @Test func theDeploymentRunsTwoServersAsTheServerAccountOnTheKubernetesBackend() throws {
    let server = try server
    #expect(server.body["spec"]["replicas"] == 2)
    let spec = try podSpec
    let account = try #require(spec["serviceAccountName"].string)
    #expect("system:serviceaccount:\(server.namespace ?? ""):\(account)" == RBACManifests.serverUsername)
    #expect(
      manifests.objects(kind: "ServiceAccount").contains { $0.name == account && $0.namespace == server.namespace })
    let arguments = try arguments
    #expect(arguments.contains("--backend=kubernetes") && arguments.contains("--authenticator=tokenreview"))
    // TLS from the mounted Secret, on every address.
    let tls = try #require(spec["volumes"].array?.first { !$0["secret"].isNull })
    #expect(tls["secret"]["secretName"] == "agentcube-tls")
    let mount = try #require(
      try container["volumeMounts"].array?.first { $0["name"] == tls["name"] }?["mountPath"].string)
    #expect(arguments.contains("--tls-cert=\(mount)/tls.crt") && arguments.contains("--tls-key=\(mount)/tls.key"))
    #expect(arguments.contains { $0.hasPrefix("--tcp=0.0.0.0:") })
  }

  @Test func everyContainerHasResourcesAndALockedDownSecurityContextAndTheServerHasProbes() throws {
    let pods =
      manifests.objects(kind: "Deployment").map { $0.body["spec"]["template"]["spec"] }
      + manifests.objects(kind: "Pod").map { $0.body["spec"] }
    #expect(pods.count == 2)
    for (index, pod) in pods.enumerated() {
      #expect(pod["securityContext"]["runAsNonRoot"] == true)
      #expect(pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault")
      for container in pod["containers"].array ?? [] {
        let name = container["name"].string ?? "?"
        for kind in ["requests", "limits"] { #expect(container["resources"][kind]["memory"].string != nil, "\(name)") }
        #expect(container["resources"]["requests"]["cpu"].string != nil, "\(name)")
        let security = container["securityContext"]
        #expect(security["allowPrivilegeEscalation"] == false && security["readOnlyRootFilesystem"] == true, "\(name)")
        #expect(security["capabilities"]["drop"] == ["ALL"] && security["capabilities"]["add"].isNull, "\(name)")
        #expect(security["privileged"].bool != true, "\(name)")
        if index == 0 {
          for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            #expect(!container[probe].isNull, "\(name) \(probe)")
            #expect(container[probe]["httpGet"].isNull, "the protocol is not HTTP: \(probe)")
          }
        }
      }
    }
  }

  @Test func theProbesAskTheHealthRPCOverTheServersOwnUnixSocket() throws {
    let socket = try #require(try arguments.first { $0.hasPrefix("--unix-socket=") }?.dropFirst("--unix-socket=".count))
    for probe in ["startupProbe", "readinessProbe"] {
      let command = try container[probe]["exec"]["command"].array?.compactMap(\.string) ?? []
      #expect(command.prefix(4) == ["/usr/local/bin/agentcube", "health", "--server", "unix:\(socket)"], "\(probe)")
    }
    // The liveness probe connects to the port the Service targets.
    #expect(try container["livenessProbe"]["tcpSocket"]["port"] == container["ports"][0]["name"])
    let socketDirectory = (String(socket) as NSString).deletingLastPathComponent
    #expect(try container["volumeMounts"].array?.contains { $0["mountPath"].string == socketDirectory } == true)
  }

  @Test func theServersTokenIsProjectedWhereTheInClusterConfigurationReadsIt() throws {
    let spec = try podSpec
    #expect(spec["automountServiceAccountToken"] == false)
    let mount = try #require(
      try container["volumeMounts"].array?.first { $0["mountPath"] == "/var/run/secrets/kubernetes.io/serviceaccount" })
    let volume = try #require(spec["volumes"].array?.first { $0["name"] == mount["name"] })
    let sources = volume["projected"]["sources"].array ?? []
    let token = try #require(sources.first { !$0["serviceAccountToken"].isNull }?["serviceAccountToken"])
    #expect(token["path"] == "token" && (token["expirationSeconds"].int ?? 0) >= 600)
    // The server's own token is for the API server: an audience of its own would be refused there.
    #expect(token["audience"].isNull)
    #expect(
      sources.contains {
        $0["configMap"]["name"] == "kube-root-ca.crt" && $0["configMap"]["items"][0]["path"] == "ca.crt"
      })
    #expect(sources.contains { $0["downwardAPI"]["items"][0]["path"] == "namespace" })
  }

  @Test func replicasSpreadOverNodesADisruptionBudgetKeepsOneAndTheServiceReachesThem() throws {
    let server = try server
    let labels = try #require(server.body["spec"]["template"]["metadata"]["labels"].stringMap)
    func selects(_ selector: JSONValue) -> Bool {
      guard let wanted = selector.stringMap, !wanted.isEmpty else { return false }
      return wanted.allSatisfy { labels[$0.key] == $0.value }
    }
    #expect(selects(server.body["spec"]["selector"]["matchLabels"]))
    let antiAffinity = try podSpec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    #expect(antiAffinity["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname")
    #expect(selects(antiAffinity["podAffinityTerm"]["labelSelector"]["matchLabels"]))
    let budget = try #require(manifests.objects(kind: "PodDisruptionBudget").first)
    #expect(budget.body["spec"]["minAvailable"] == 1 && selects(budget.body["spec"]["selector"]["matchLabels"]))
    let service = try #require(manifests.objects(kind: "Service").first)
    #expect(service.body["spec"]["type"] == "ClusterIP" && selects(service.body["spec"]["selector"]))
    #expect(try service.body["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"])
  }

  @Test func theExampleAgentSendsAShortLivedTokenTheServerReviewsAndTheAPIServerAccepts() throws {
    let pod = try #require(manifests.objects(kind: "Pod").first { $0.file.hasPrefix("example-") })
    let spec = pod.body["spec"]
    #expect(
      "system:serviceaccount:\(pod.namespace ?? ""):\(spec["serviceAccountName"].string ?? "")"
        == RBACManifests.callerUsername)
    #expect(spec["automountServiceAccountToken"] == false)
    let token = try #require(
      spec["volumes"].array?.compactMap {
        $0["projected"]["sources"].array?.first { !$0["serviceAccountToken"].isNull }
      }.first)
    let expiration = token["serviceAccountToken"]["expirationSeconds"].int ?? 0
    #expect((600...3600).contains(expiration))
    // The server creates sandboxes with this very token, so it must carry the API server's audience:
    // the same (none) as the server reviews for.
    let reviewed = try arguments.filter { $0.hasPrefix("--token-review-audience") }
    #expect(token["serviceAccountToken"]["audience"].isNull && reviewed.isEmpty)
    let environment = spec["containers"][0]["env"].array ?? []
    #expect(
      environment.contains { $0["name"] == "AGENTCUBE_TOKEN_FILE" && $0["value"] == "/var/run/secrets/agentcube/token" }
    )
  }

  @Test func theContainerfileInstallsWhatTheDeploymentRunsAsTheUserItRunsAs() throws {
    let text = try String(
      contentsOf: RBACManifests.repositoryRoot.appendingPathComponent("Containerfile"), encoding: .utf8)
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.filter { $0.hasPrefix("FROM ") }.count == 2, "a build stage and a runtime stage")
    #expect(lines.contains("COPY --from=build /out/agentcubed /out/agentcube /usr/local/bin/"))
    #expect(lines.contains("ENTRYPOINT [\"/usr/local/bin/agentcubed\"]"))
    #expect(text.contains("ARG SWIFT_IMAGE=swift:6.") && text.contains("ARG RUNTIME_IMAGE=debian:bookworm-slim"))
    for library in ["libcurl4", "libprotobuf-c1", "ca-certificates"] { #expect(text.contains(" \(library)")) }
    let user = try #require(lines.last { $0.hasPrefix("USER ") })
    let uid = try podSpec["securityContext"]["runAsUser"].int.map(String.init) ?? "?"
    #expect(user == "USER \(uid):\(uid)")
    #expect(try container["image"] == "agentcubed", "the kustomization's images entry names it")
  }

  @Test(.timeLimit(.minutes(10)))
  func everyOptionTheDeploymentPassesIsOneAgentcubedHas() async throws {
    let help = try await TestProcess.run(try BuiltProducts.executable("agentcubed"), ["--help"]).stdout
    #expect(help.contains("--authenticator"))
    for argument in try arguments {
      let option = String(argument.prefix { $0 != "=" })
      #expect(option.hasPrefix("--"), "\(argument)")
      #expect(help.contains(option + " "), "agentcubed has no \(option)")
    }
  }
}

extension JSONValue {
  /// An element of an array; `.null` past its end or for anything else.
  fileprivate subscript(index: Int) -> JSONValue {
    guard let items = array, items.indices.contains(index) else { return .null }
    return items[index]
  }
}
