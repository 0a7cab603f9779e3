import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Logging
import Synchronization
import Testing

@testable import AgentCubeKubernetes

/// An emulator (API only: no controller) with two accounts — an admin writing Sandboxes and the
/// server's own account reading them — and the real libcurl client over HTTPS.
struct InformerFixture {
  static let sandboxes = "agents.x-k8s.io"
  /// Writes Sandboxes anywhere (the test's hand, as callers' accounts would).
  static let admin = TokenRecord(
    token: "informer-admin-0001", user: .serviceAccount(namespace: "tests", name: "admin", uid: "uid-admin"),
    permissions: [Permission(verb: "*", group: sandboxes, resource: "sandboxes")])
  /// The server's own account: get, list, watch sandboxes in all namespaces.
  static let server = TokenRecord(
    token: "informer-server-0002",
    user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-server"),
    permissions: Set(["get", "list", "watch"].map { Permission(verb: $0, group: sandboxes, resource: "sandboxes") }))
  /// The server's account where RBAC grants it two namespaces only.
  static let namespacedServer = TokenRecord(
    token: "informer-namespaced-0003",
    user: .serviceAccount(namespace: "agentcube-system", name: "agentcube-ns", uid: "uid-server-ns"),
    permissions: Set(
      ["team-a", "team-b"].flatMap { namespace in
        ["get", "list", "watch"].map {
          Permission(verb: $0, group: sandboxes, resource: "sandboxes", namespace: namespace)
        }
      }))

  let emulator: KubernetesEmulator
  let http: CurlHTTPClient
  /// The server's credentials (what the informer reads with).
  let serverAPI: KubernetesAPI
  let adminAPI: KubernetesAPI
  let logger: Logger

  static func with(
    configure: (inout EmulatorConfiguration) -> Void = { _ in }, _ body: (InformerFixture) async throws -> Void
  ) async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("informer-ca")
    let serverCertificate = try await certificates.issueLoopbackServer("apiserver", signedBy: ca)
    var configuration = EmulatorConfiguration(
      certificatePath: serverCertificate.certificate, privateKeyPath: serverCertificate.key,
      tokens: [admin, server, namespacedServer], requestLogLimit: 4096)
    configuration.sandboxes.controller.enabled = false
    configure(&configuration)
    let emulator = try await KubernetesEmulator.start(configuration)
    let http = CurlHTTPClient()
    let caBytes = Array(try Data(contentsOf: URL(fileURLWithPath: ca.certificate)))
    var api = KubernetesAPI(
      server: emulator.url, tls: TLSCredentials(certificateAuthority: caBytes), token: { server.token }, http: http)
    api.initialBackoff = .milliseconds(10)
    api.maxBackoff = .milliseconds(50)
    api.maxAttempts = 2
    var logger = Logger(label: "informer-test")
    logger.logLevel = .info
    let fixture = InformerFixture(
      emulator: emulator, http: http, serverAPI: api, adminAPI: api.acting(as: admin.token), logger: logger)
    var failure: (any Error)?
    do { try await body(fixture) } catch { failure = error }
    http.shutdown()
    await emulator.stop()
    if let failure { throw failure }
  }

  /// Quick retries, so tests of failures take little time.
  static func configuration(
    namespaces: [String] = [], pageSize: Int = 500, watchTimeoutSeconds: Int = 60, maxEventBytes: Int = 4 << 20
  ) -> SandboxInformer.Configuration {
    SandboxInformer.Configuration(
      namespaces: namespaces, pageSize: pageSize, watchTimeoutSeconds: watchTimeoutSeconds,
      initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200), maxEventBytes: maxEventBytes)
  }

  /// Runs an informer with `configuration` during `body` (its token: `token`), then cancels it and
  /// checks that `run()` returned.
  func withInformer(
    _ configuration: SandboxInformer.Configuration = InformerFixture.configuration(), token: String = server.token,
    synced: Bool = true, _ body: (SandboxInformer) async throws -> Void
  ) async throws {
    let informer = SandboxInformer(api: serverAPI.acting(as: token), configuration: configuration, logger: logger)
    let task = Task { await informer.run() }
    var failure: (any Error)?
    do {
      if synced {
        let ready = await informer.waitUntilSynced(timeout: .seconds(10))
        try #require(ready, "the informer synced")
      }
      try await body(informer)
    } catch {
      failure = error
    }
    task.cancel()
    try await withTimeout(.seconds(5), "run() to return after cancellation") { await task.value }
    if let failure { throw failure }
  }

  static func sandbox(
    _ name: String, namespace: String = "team-a", labels: [String: String] = ["managed-by": "agentcube"],
    annotations: [String: String]? = nil
  ) -> SandboxObject {
    SandboxObject(
      apiVersion: SandboxAPIVersion.v1beta1.apiVersion,
      metadata: ObjectMeta(name: name, namespace: namespace, labels: labels, annotations: annotations),
      spec: SandboxSpec(
        podTemplate: PodTemplate(spec: PodSpec(containers: [Container(name: "sandbox", image: "never-ready:1")]))))
  }

  @discardableResult
  func create(_ object: SandboxObject) async throws -> SandboxObject {
    try await adminAPI.send(
      "POST", SandboxAPIVersion.v1beta1.path(namespace: object.metadata.namespace), body: object, idempotent: false)
  }

  @discardableResult
  func create(_ name: String, namespace: String = "team-a", labels: [String: String] = ["managed-by": "agentcube"])
    async throws -> SandboxObject
  {
    try await create(Self.sandbox(name, namespace: namespace, labels: labels))
  }

  /// A PUT of `object` changed by `change` (its resourceVersion a precondition).
  @discardableResult
  func update(_ object: SandboxObject, _ change: (inout SandboxObject) -> Void) async throws -> SandboxObject {
    var changed = object
    change(&changed)
    return try await adminAPI.send(
      "PUT", SandboxAPIVersion.v1beta1.path(namespace: object.metadata.namespace, name: object.metadata.name),
      body: changed, idempotent: false)
  }

  /// Deletes it; the answer is the object with the delete's resourceVersion.
  @discardableResult
  func delete(_ name: String, namespace: String = "team-a") async throws -> SandboxObject {
    try await adminAPI.send(
      "DELETE", SandboxAPIVersion.v1beta1.path(namespace: namespace, name: name), body: NoBody?.none, idempotent: false)
  }

  /// Waits for the informer's watch, holds watches off (every watch request gets 503) and cuts
  /// the open one; returns once the informer has failed to watch again at least once. ``release()`` lets watches through.
  func holdWatches(_ informer: SandboxInformer) async throws {
    // A watch open first, so that there is one to cut.
    try await eventually("the informer's watch to open") { emulator.openWatches >= 1 }
    let before = informer.statistics.reconnects
    emulator.inject(.status(503), on: .route(.sandboxesWatch))
    emulator.cutWatches()
    try await eventually("the informer to fail to watch") { informer.statistics.reconnects >= before + 2 }
  }

  func release() { emulator.clearFaults() }
}

/// Collects what an `AsyncStream` yields, in a task of its own, until stopped.
final class StreamRecorder<Element: Sendable>: Sendable {
  private let values = Mutex<[Element]>([])
  private let task = Mutex<Task<Void, Never>?>(nil)

  init(_ stream: AsyncStream<Element>) {
    let started = Task { [self] in
      for await value in stream { values.withLock { $0.append(value) } }
    }
    task.withLock { $0 = started }
  }

  var recorded: [Element] { values.withLock { $0 } }

  /// Stops iterating (the stream's onTermination runs).
  func stop() async {
    let running = task.withLock { $0 }
    running?.cancel()
    await running?.value
  }
}
