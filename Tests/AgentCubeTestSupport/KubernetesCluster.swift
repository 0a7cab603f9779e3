public import AgentCubeKubernetes
import Foundation
public import KubernetesEmulator

/// The project's Kubernetes API emulator set up as the Kubernetes backend's tests need it: a
/// test CA, the server's own account with exactly the RBAC `k8s/` grants it (no `create` on
/// sandboxes: a create can only succeed as the caller), and callers with a namespace each.
///
/// The callers' tokens are ``TestServer/Token``'s, so a server with the token file and one with
/// TokenReview see the same identities.
public struct KubernetesCluster: Sendable {
  public let certificates: TestCertificates
  public let ca: TestCertificates.Pair
  public let emulator: KubernetesEmulator
  public let http: CurlHTTPClient

  /// `system:serviceaccount:agentcube-system:agentcube` with exactly what `k8s/` grants it.
  public static let server = TokenRecord(
    token: "agentcube-server-token-0001",
    user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-server"),
    permissions: serverPermissions)

  /// What the manifests grant the server (the emulator can express all of it).
  static var serverPermissions: Set<Permission> {
    // The manifests are the repository's own files: a test run without them cannot go on.
    let manifests = try! RBACManifests.load()
    let username = RBACManifests.serverUsername
    return manifests.emulatorPermissions(username: username, groups: RBACManifests.groups(ofUsername: username))
  }

  /// The requests the server's own account made that the manifests do not allow (none, if all is well).
  public func serverRequestsNotAllowed() throws -> [RequestRecord] {
    try RBACManifests.load().disallowed(emulator.requests(by: Self.server.user.username))
  }
  /// `team-a/alice`: may create, delete, get, list and patch sandboxes in team-a (the example caller Role).
  public static let alice = caller(TestServer.Token.alice, namespace: "team-a", name: "alice", uid: "uid-a")
  /// `team-b/bob`: the same in team-b.
  public static let bob = caller(TestServer.Token.bob, namespace: "team-b", name: "bob", uid: "uid-b")
  /// `team-c/carol`: a service account without any RBAC.
  public static let carol = TokenRecord(
    token: "carol-token-0123456789", user: .serviceAccount(namespace: "team-c", name: "carol", uid: "uid-c"))

  static func sandboxes(_ verbs: [String], namespace: String?) -> [Permission] {
    verbs.map { Permission(verb: $0, group: "agents.x-k8s.io", resource: "sandboxes", namespace: namespace) }
  }

  static func caller(_ token: String, namespace: String, name: String, uid: String) -> TokenRecord {
    TokenRecord(
      token: token, user: .serviceAccount(namespace: namespace, name: name, uid: uid),
      permissions: Set(sandboxes(["create", "delete", "get", "list", "patch"], namespace: namespace)))
  }

  /// Starts the emulator serving `versions` of the Sandbox API, after `configure` had its say.
  public static func start(
    versions: [SandboxVersion] = [.v1beta1], configure: (inout EmulatorConfiguration) -> Void = { _ in }
  ) async throws -> KubernetesCluster {
    let certificates = try TestCertificates()
    do {
      let ca = try await certificates.makeCA("cluster-ca")
      let serving = try await certificates.issueLoopbackServer("apiserver", signedBy: ca)
      var configuration = EmulatorConfiguration(
        certificatePath: serving.certificate, privateKeyPath: serving.key, tokens: [server, alice, bob, carol])
      configuration.sandboxes.servedVersions = versions
      // A pod's sshd gets long to start on a busy machine; the time only bounds a failure.
      configuration.sandboxes.controller.readinessTimeout = .seconds(60)
      configure(&configuration)
      let emulator = try await KubernetesEmulator.start(configuration)
      return KubernetesCluster(certificates: certificates, ca: ca, emulator: emulator, http: CurlHTTPClient())
    } catch {
      certificates.remove()
      throw error
    }
  }

  /// The API as the server's own account, through the real libcurl client.
  public func serverAPI() throws -> KubernetesAPI {
    let trust = TLSCredentials(certificateAuthority: Array(try Data(contentsOf: URL(fileURLWithPath: ca.certificate))))
    var api = KubernetesAPI(server: emulator.url, tls: trust, token: { Self.server.token }, http: http)
    api.initialBackoff = .milliseconds(20)
    return api
  }

  /// Writes a kubeconfig for the server's own account; returns its path.
  public func writeKubeconfig() throws -> String {
    let path = certificates.directory.file("kubeconfig")
    try """
      apiVersion: v1
      kind: Config
      clusters: [{name: emulator, cluster: {server: "\(emulator.url)", certificate-authority: \(ca.certificate)}}]
      users: [{name: agentcubed, user: {token: \(Self.server.token)}}]
      contexts: [{name: test, context: {cluster: emulator, user: agentcubed}}]
      current-context: test
      """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Stops the emulator (and every sshd it runs) and removes the certificates.
  public func stop() async {
    http.shutdown()
    await emulator.stop()
    certificates.remove()
  }
}
