import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// The requests the product makes, as the emulator logs them by identity, held against the `k8s/`
/// manifests' RBAC; the emulator itself grants each account what the manifests give it.
@Suite(.timeLimit(.minutes(10)))
struct RBACRequestLogTests {
  struct Fixture {
    let manifests: RBACManifests
    let emulator: KubernetesEmulator
    let api: KubernetesAPI
    static let serverToken = "server-secret-rbac-0001"
    static let agentToken = "agent-secret-rbac-0002"
  }

  static func with(_ body: (Fixture) async throws -> Void) async throws {
    let manifests = try RBACManifests.load()
    func account(_ username: String, token: String) -> TokenRecord {
      let parts = username.split(separator: ":").map(String.init)
      return TokenRecord(
        token: token, user: .serviceAccount(namespace: parts[2], name: parts[3], uid: "uid-\(parts[3])"),
        permissions: manifests.emulatorPermissions(
          username: username, groups: RBACManifests.groups(ofUsername: username)))
    }
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("cluster-ca")
    let server = try await certificates.issueLoopbackServer("apiserver", signedBy: ca)
    var configuration = EmulatorConfiguration(
      certificatePath: server.certificate, privateKeyPath: server.key,
      tokens: [
        account(RBACManifests.serverUsername, token: Fixture.serverToken),
        account(RBACManifests.callerUsername, token: Fixture.agentToken),
      ])
    configuration.sandboxes = SandboxAPIConfiguration(controller: SandboxControllerConfiguration(enabled: false))
    let emulator = try await KubernetesEmulator.start(configuration)
    let http = CurlHTTPClient()
    let tls = TLSCredentials(certificateAuthority: Array(try Data(contentsOf: URL(fileURLWithPath: ca.certificate))))
    var api = KubernetesAPI(server: emulator.url, tls: tls, token: { nil }, http: http)
    api.initialBackoff = .milliseconds(10)
    do {
      try await body(Fixture(manifests: manifests, emulator: emulator, api: api))
    } catch {
      http.shutdown()
      await emulator.stop()
      throw error
    }
    http.shutdown()
    await emulator.stop()
  }

  @Test func everyTokenReviewTheServerMakesIsAllowedByTheManifests() async throws {
    try await Self.with { f in
      let authenticator = TokenReviewAuthenticator(api: f.api.acting(as: Fixture.serverToken))
      let identity = try await authenticator.authenticate(BearerToken(Fixture.agentToken))
      #expect(identity.username == RBACManifests.callerUsername)
      let error = try await #require(throws: RPCError.self) {
        try await authenticator.authenticate(BearerToken("not-a-cluster-token"))
      }
      #expect(error.code == .unauthenticated)
      let requests = f.emulator.requests(by: RBACManifests.serverUsername)
      #expect(
        requests.count == 2 && requests.allSatisfy { $0.route == .tokenReviews && $0.status == 201 }, "\(requests)")
      #expect(f.manifests.disallowed(requests) == [])
    }
  }

  static let sandbox: JSONValue = [
    "apiVersion": "agents.x-k8s.io/v1beta1", "kind": "Sandbox",
    "metadata": ["name": "sandbox-rbac", "namespace": "team-a"],
    "spec": ["podTemplate": ["spec": ["containers": [["name": "sandbox", "image": "agentcube/openssh"]]]]],
  ]

  @Test func aSandboxIsCreatedOnlyWithTheCallersTokenAndKeptWithTheServers() async throws {
    try await Self.with { f in
      let caller = f.api.acting(as: Fixture.agentToken)
      let server = f.api.acting(as: Fixture.serverToken)
      let path = SandboxAPIVersion.v1beta1.path(namespace: "team-a")
      // The server's account may not create: a create can only succeed as the caller.
      let refused = try await #require(throws: KubernetesAPIError.self) {
        _ = try await server.send("POST", path, body: Self.sandbox, idempotent: false, as: JSONValue.self)
      }
      #expect(refused.httpStatus == 403 && refused.rpcError.code == .permissionDenied, "\(refused)")
      _ = try await caller.send("POST", path, body: Self.sandbox, idempotent: false, as: JSONValue.self)
      // What the server does with its own account: index every namespace, read, book-keep, expire.
      let all = SandboxAPIVersion.v1beta1.path()
      _ = try await server.send("GET", all, body: JSONValue?.none, idempotent: true, as: JSONValue.self)
      let object = SandboxAPIVersion.v1beta1.path(namespace: "team-a", name: "sandbox-rbac")
      _ = try await server.send("GET", object, body: JSONValue?.none, idempotent: true, as: JSONValue.self)
      _ = try await server.send("DELETE", object, body: JSONValue?.none, idempotent: false, as: JSONValue.self)
      // The caller may not see other namespaces.
      let listAll = try await #require(throws: KubernetesAPIError.self) {
        _ = try await caller.send("GET", all, body: JSONValue?.none, idempotent: true, as: JSONValue.self)
      }
      #expect(listAll.rpcError.code == .permissionDenied)

      let disallowed = f.manifests.disallowed(f.emulator.recentRequests)
      #expect(
        disallowed.map(\.attributes) == [
          ResourceAttributes(verb: "create", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a"),
          ResourceAttributes(verb: "list", group: "agents.x-k8s.io", resource: "sandboxes"),
        ])
      #expect(disallowed.map(\.user) == [RBACManifests.serverUsername, RBACManifests.callerUsername])
      #expect(disallowed.allSatisfy { $0.status == 403 }, "the emulator refused exactly what the manifests refuse")
    }
  }
}
