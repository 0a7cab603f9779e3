import AgentCube
import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeKubernetesBackend
import AgentCubeServer
import AgentCubeTestSupport
import ArgumentParser
import Foundation
import Logging

/// `agentcube-bench kubernetes`: what the server adds to the Kubernetes API emulator's own latency
/// for CreateSession and GetSession, both measured in the same run.
struct KubernetesOverhead: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kubernetes",
    abstract: "Time CreateSession and GetSession on the Kubernetes backend against the emulator's own latency.",
    discussion: """
      Starts the Kubernetes API emulator (its controller starting a real sshd per Sandbox) and the real
      server over the Kubernetes backend on a Unix socket. Alternating, --creates times each: a
      Sandbox created straight at the emulator with the caller's token through the same libcurl
      client, waited for to be Ready through an informer, then deleted ("emulator"); and CreateSession
      through the SDK, then DeleteSession ("server"). Then --gets GetSession calls (served from the
      informer's cache) against as many GETs of the Sandbox at the emulator. Then --cached other
      (suspended) Sandboxes of the product are added and --gets GetSession calls are timed again,
      beside finding one session in that cache by its sandbox-id label through the informer's index
      and by a scan of every cached object (the lookup GetSession made before the index). Prints
      percentiles. Build and run in release mode.
      """)

  @Option(help: "Creates of each kind.")
  var creates: Int = 20

  @Option(help: "Gets of each kind.")
  var gets: Int = 2000

  @Option(help: "Other Sandboxes in the cache for the second round of gets.")
  var cached: Int = 5000

  func run() async throws {
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: "agentcube-bench")
    logger.logLevel = .warning
    let cluster = try await KubernetesCluster.start()
    let serverAPI = try cluster.serverAPI()
    let backend = KubernetesBackend(api: serverAPI, logger: logger)
    let runner = Task { try await backend.run() }
    var policy = SessionPolicy.defaults
    policy.defaultImage = "bench/sshd:1"
    policy.maxSessionsPerIdentity = 1000
    policy.createRatePerIdentity = 1000
    policy.createBurstPerIdentity = 1000
    let server = try await BackendServer.start(backend: backend, policy: policy)
    let client = server.client(token: TestServer.Token.alice)
    let alice = serverAPI.acting(as: TestServer.Token.alice)
    // The baseline's own informer, as a client of the emulator would have.
    var watching = SandboxInformer.Configuration()
    watching.namespaces = ["team-a"]
    watching.labelSelector = "bench=direct"
    let informer = SandboxInformer(api: serverAPI, configuration: watching, logger: logger)
    let informing = Task { await informer.run() }
    defer {
      informing.cancel()
      runner.cancel()
    }
    guard await backend.informer.waitUntilSynced(timeout: .seconds(20)),
      await informer.waitUntilSynced(timeout: .seconds(20))
    else { throw ValidationError("the informers did not sync") }

    var direct: [Int64] = []
    var served: [Int64] = []
    for round in 0..<creates {
      direct.append(try await Self.time { try await Self.createDirectly(round, api: alice, informer: informer) })
      served.append(
        try await Self.time {
          let session = try await client.sessions.createSession(.init(), options: .init(timeout: .seconds(60))).session
          _ = try await client.sessions.deleteSession(.init(sessionID: session.id))
        })
    }
    let session = try await client.sessions.createSession(.init(), options: .init(timeout: .seconds(60))).session
    var directGets: [Int64] = []
    var servedGets: [Int64] = []
    let path = SandboxAPIVersion.v1beta1.path(namespace: "team-a", name: session.name)
    for _ in 0..<gets {
      directGets.append(try await Self.time { let _: SandboxObject = try await alice.send("GET", path, body: String?.none, idempotent: true) })
      servedGets.append(try await Self.time { _ = try await client.sessions.getSession(.init(sessionID: session.id)) })
    }
    // Many other callers' sessions in the cache: GetSession and ListSessions again, and the two ways
    // to find one session.
    for index in 0..<cached { try await Self.createSuspended(index, api: alice) }
    try await Self.waitUntil(count: cached + 1) { backend.informer.objects().count }
    var crowdedGets: [Int64] = []
    var indexed: [Int64] = []
    var scanned: [Int64] = []
    var lists: [Int64] = []
    for _ in 0..<gets {
      lists.append(try await Self.time { _ = try await client.sessions.listSessions(.init()) })
      crowdedGets.append(try await Self.time { _ = try await client.sessions.getSession(.init(sessionID: session.id)) })
      indexed.append(
        try await Self.time { precondition(backend.informer.objects(label: "sandbox-id", value: session.id).count == 1) })
      scanned.append(
        try await Self.time {
          precondition(backend.informer.objects().filter { $0.metadata.labels?["sandbox-id"] == session.id }.count == 1)
        })
    }
    _ = try await client.sessions.deleteSession(.init(sessionID: session.id))
    informing.cancel()
    _ = await informing.value
    await client.close()
    await server.stop()
    runner.cancel()
    _ = await runner.result
    await backend.shutdown()
    await cluster.stop()

    print("| operation | path | n | p50 ms | p90 ms | max ms |")
    print("|---|---|--:|--:|--:|--:|")
    for (operation, kind, var samples) in [
      ("create until ready, then delete", "emulator (POST + informer wait + DELETE)", direct),
      ("create until ready, then delete", "server (CreateSession + DeleteSession)", served),
      ("get", "emulator (GET of the Sandbox)", directGets), ("get", "server (GetSession, from the cache)", servedGets),
      ("get, \(cached) other Sandboxes cached", "server (GetSession, from the cache)", crowdedGets),
      ("list (the caller's 1 of \(cached + 1) cached)", "server (ListSessions, from the cache)", lists),
      ("find by sandbox-id, \(cached + 1) cached", "informer index (what GetSession uses)", indexed),
      ("find by sandbox-id, \(cached + 1) cached", "scan of every cached object (before the index)", scanned),
    ] {
      guard let summary = LatencySummary(sorting: &samples) else { continue }
      func ms(_ duration: Duration) -> String { String(format: "%.2f", duration.microseconds / 1000) }
      print("| \(operation) | \(kind) | \(summary.count) | \(ms(summary.p50)) | \(ms(summary.p90)) | \(ms(summary.max)) |")
    }
  }

  /// A Sandbox made straight at the emulator with the caller's token, waited for, deleted.
  private static func createDirectly(_ round: Int, api: KubernetesAPI, informer: SandboxInformer) async throws {
    let name = "direct-\(round)-\(UUID().uuidString.prefix(6).lowercased())"
    let object = SandboxObject(
      apiVersion: SandboxAPIVersion.v1beta1.apiVersion,
      metadata: ObjectMeta(name: name, namespace: "team-a", labels: ["bench": "direct"]),
      spec: SandboxSpec(
        podTemplate: PodTemplate(spec: PodSpec(containers: [Container(name: "sandbox", image: "bench/sshd:1")])),
        operatingMode: "Running"))
    let changes = informer.changes(namespace: "team-a", name: name)
    let _: SandboxObject = try await api.send(
      "POST", SandboxAPIVersion.v1beta1.path(namespace: "team-a"), body: object, idempotent: false)
    for await state in changes {
      if let state, state.status?.condition("Ready")?.status == "True", !(state.status?.podIPs ?? []).isEmpty { break }
    }
    let _: SandboxObject = try await api.send(
      "DELETE", SandboxAPIVersion.v1beta1.path(namespace: "team-a", name: name), body: String?.none, idempotent: true)
  }

  /// Another caller's session's Sandbox that never gets a pod (suspended) and ends in an hour, for a
  /// crowded cache (without an expiry the server would collect it as expired).
  private static func createSuspended(_ index: Int, api: KubernetesAPI) async throws {
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    let object = SandboxObject(
      apiVersion: SandboxAPIVersion.v1beta1.apiVersion,
      metadata: ObjectMeta(
        name: "crowd-\(index)", namespace: "team-a",
        labels: ["managed-by": "agentcube", "sandbox-id": UUID().uuidString.lowercased()],
        annotations: [
          "agentcube.dev/creator-service-account": "system:serviceaccount:team-a:agent-\(index % 100)",
          "agentcube.dev/created-at-ms": String(now), "agentcube.dev/expires-at-ms": String(now + 3_600_000),
          "agentcube.dev/ttl": "3600",
        ]),
      spec: SandboxSpec(
        podTemplate: PodTemplate(spec: PodSpec(containers: [Container(name: "sandbox", image: "bench/sshd:1")])),
        operatingMode: "Suspended"))
    let _: SandboxObject = try await api.send(
      "POST", SandboxAPIVersion.v1beta1.path(namespace: "team-a"), body: object, idempotent: false)
  }

  private static func waitUntil(count: Int, _ current: () -> Int) async throws {
    let deadline = ContinuousClock.now + .seconds(120)
    while current() < count {
      guard ContinuousClock.now < deadline else {
        throw ValidationError("the informer holds \(current()) Sandboxes after 120 s, not \(count)")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  private static func time(_ body: () async throws -> Void) async throws -> Int64 {
    let start = ContinuousClock.now
    try await body()
    return (ContinuousClock.now - start).wholeNanoseconds
  }
}
