public import AgentCubeCore
public import AgentCubeKubernetes
import Foundation
public import Logging
import ServiceLifecycle
import Synchronization

/// Sessions as `agents.x-k8s.io` Sandbox objects in each caller's namespace, created, renewed and
/// deleted **with the caller's own token**, so that Kubernetes RBAC decides who may run sandboxes
/// where. The server keeps no state: reads come from a ``SandboxInformer`` (list + watch as the
/// server's own account), with the server's own writes applied at once (read your own writes);
/// any replica serves any session.
///
/// The server's own account reads (list, watch, get sandboxes and pods) and does bookkeeping:
/// last activity written back as an annotation at most every
/// ``Configuration/activityWriteInterval`` per session, and expired or idle sessions deleted
/// (safe with several replicas at once: deletes are preconditioned on the object's uid and a
/// 404 means done). Each Sandbox also carries `spec.shutdownTime` with `shutdownPolicy: Delete`,
/// so the cluster ends it at its expiry even when no server runs.
public final class KubernetesBackend: SessionBackend {
  public let descriptor: BackendDescriptor
  public var wallClock: WallClock { configuration.wallClock }
  /// The cache reads come from (the server's own view).
  public let informer: SandboxInformer

  let api: KubernetesAPI
  let configuration: Configuration
  let callers: CallerClients
  let logger: Logger
  let bookkeeping = Mutex(Bookkeeping())

  struct Bookkeeping {
    var isShutDown = false
    /// Activity not yet written back: session id → Unix ms.
    var activity: [String: Int64] = [:]
    /// When activity was last written for a session (Unix ms of the write).
    var written: [String: Int64] = [:]
  }

  /// A backend acting as the server with `api` (its own credentials) and as each caller with
  /// their tokens over the same connection pool.
  public init(api: KubernetesAPI, configuration: Configuration = Configuration(), logger: Logger) {
    self.api = api
    self.configuration = configuration
    self.logger = logger
    self.callers = CallerClients(base: api, capacity: configuration.callerClientCapacity, clock: configuration.wallClock)
    var informer = SandboxInformer.Configuration()
    informer.version = configuration.version
    informer.namespaces = configuration.namespaces
    informer.labelSelector = "\(SandboxRecord.managedByLabel)=\(configuration.managedBy)"
    informer.indexedLabel = SandboxRecord.idLabel
    self.informer = SandboxInformer(api: api, configuration: informer, logger: logger)
    let runtime = configuration.runtimeClassName.map { ", runtime class \($0)" } ?? ""
    self.descriptor = BackendDescriptor(
      name: "kubernetes", isolated: true,
      isolationMessage: "sandboxes are Kubernetes pods (agents.x-k8s.io/\(configuration.version.rawValue) Sandbox objects\(runtime))")
  }

  // MARK: Sessions

  public func createSession(_ spec: SessionSpec, caller: Caller, deadline: ContinuousClock.Instant) async throws
    -> Session
  {
    guard !bookkeeping.withLock({ $0.isShutDown }) else { throw RPCError.unavailable("the server is shutting down") }
    let object = SandboxRecord.object(for: spec, configuration: configuration)
    // Registered before the create, so that no event of the new object is missed.
    let changes = informer.changes(namespace: spec.namespace, name: spec.name)
    let created: SandboxObject = try await callers.api(for: caller).send(
      "POST", configuration.version.path(namespace: spec.namespace), body: object, idempotent: false)
    informer.observe(created)
    do {
      let ready = try await waitUntilReady(namespace: spec.namespace, name: spec.name, changes: changes, deadline: deadline)
      // Idle time counts from when the sandbox serves, not from the request.
      await recordActivity(id: spec.id)
      // Present: the object is ours (made from the spec, with its id label).
      let session = withPendingActivity(
        SandboxRecord.session(from: ready, sshPort: configuration.sshPort)!, bookkeeping.withLock { $0.activity })
      logger.info(
        "sandbox ready",
        metadata: ["session.id": "\(spec.id)", "kubernetes.namespace": "\(spec.namespace)", "sandbox.address": "\(session.address)"])
      return session
    } catch {
      // Not tied to the caller's call, which may be gone already.
      let uid = created.metadata.uid
      Task { await self.removeHalfMade(namespace: spec.namespace, name: spec.name, uid: uid, reason: "\(error)") }
      throw error
    }
  }

  public func session(id: String) async throws -> Session? {
    guard let (_, session) = find(id) else { return nil }
    return session
  }

  public func sessions(createdBy creator: String) async throws -> [Session] {
    let pending = bookkeeping.withLock { $0.activity }
    let now = wallClock.now()
    return informer.objects { SandboxRecord.isCreated(by: creator, $0) }
      .compactMap { SandboxRecord.session(from: $0, sshPort: configuration.sshPort) }
      .map { withPendingActivity($0, pending) }
      .filter { $0.creator == creator && !hasEnded($0, now: now) }
      .sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
  }

  public func renewSession(id: String, ttlSeconds: UInt32, expiresAtMs: Int64, caller: Caller) async throws -> Session {
    guard let (object, _) = find(id), let namespace = object.metadata.namespace, let name = object.metadata.name else {
      throw RPCError.notFound("session \(id) not found")
    }
    let patch = MergePatch(
      metadata: .init(annotations: [
        SandboxRecord.Annotation.ttl: String(ttlSeconds), SandboxRecord.Annotation.expiresAtMs: String(expiresAtMs),
      ]),
      spec: .init(shutdownTime: SandboxRecord.shutdownTime(expiresAtMs: expiresAtMs)))
    let patched: SandboxObject = try await callers.api(for: caller).send(
      "PATCH", configuration.version.path(namespace: namespace, name: name), body: patch, idempotent: true,
      contentType: MergePatch.contentType)
    informer.observe(patched)
    guard let session = SandboxRecord.session(from: patched, sshPort: configuration.sshPort) else {
      throw RPCError.internal("the renewed Sandbox lost its session labels")
    }
    return withPendingActivity(session, bookkeeping.withLock { $0.activity })
  }

  public func deleteSession(id: String, caller: Caller) async throws {
    guard let (object, _) = find(id), let namespace = object.metadata.namespace, let name = object.metadata.name else {
      throw RPCError.notFound("session \(id) not found")
    }
    try await delete(namespace: namespace, name: name, uid: object.metadata.uid, as: callers.api(for: caller))
    bookkeeping.withLock {
      $0.activity[id] = nil
      $0.written[id] = nil
    }
  }

  public func connect(sessionID: String, port: Int, timeout: Duration) async throws -> SandboxConnection {
    guard let (object, _) = find(sessionID) else { throw RPCError.notFound("session \(sessionID) not found") }
    if let address = SandboxRecord.podAddress(of: object) { return .address(host: address, port: port) }
    // Older controllers report no podIPs: the pod they name, or the pod of the sandbox's name.
    guard let namespace = object.metadata.namespace, let name = object.metadata.name else {
      throw RPCError.unavailable("the Sandbox of session \(sessionID) has no address")
    }
    let podName = object.metadata.annotations?[SandboxRecord.Annotation.podName] ?? name
    let pod: PodAddressView = try await api.send(
      "GET", "/api/v1/namespaces/\(namespace)/pods/\(podName)", body: String?.none, idempotent: true)
    guard let address = pod.status?.podIPs?.map(\.ip).first(where: { !$0.contains(":") }) ?? pod.status?.podIP else {
      throw RPCError.unavailable("pod \(namespace)/\(podName) of session \(sessionID) has no IP yet")
    }
    return .address(host: address, port: port)
  }

  public func recordActivity(id: String) async {
    let now = wallClock.now()
    bookkeeping.withLock { $0.activity[id] = max($0.activity[id] ?? 0, now) }
  }

  // MARK: Lifecycle

  /// The informer, activity write-back and the collection of ended sessions, until graceful
  /// shutdown or cancellation.
  public func run() async throws {
    await cancelWhenGracefulShutdown {
      await withDiscardingTaskGroup { group in
        group.addTask { await self.informer.run() }
        group.addTask { await self.maintain() }
      }
    }
  }

  public func shutdown() async {
    bookkeeping.withLock { $0.isShutDown = true }
  }

  // MARK: Reading the cache

  /// The object and session of `id`, unless it has ended (expired or idle by the clock).
  func find(_ id: String) -> (SandboxObject, Session)? {
    let pending = bookkeeping.withLock { $0.activity }
    for object in informer.objects(label: SandboxRecord.idLabel, value: id) {
      guard let session = SandboxRecord.session(from: object, sshPort: configuration.sshPort) else { continue }
      let current = withPendingActivity(session, pending)
      return hasEnded(current, now: wallClock.now()) ? nil : (object, current)
    }
    return nil
  }

  func withPendingActivity(_ session: Session, _ pending: [String: Int64]) -> Session {
    var session = session
    if let recent = pending[session.id] { session.lastActivityAtMs = max(session.lastActivityAtMs, recent) }
    return session
  }

  /// Past its TTL, or idle too long once running (a sandbox still starting is not idle).
  func hasEnded(_ session: Session, now: Int64) -> Bool {
    session.hasExpired(at: now) || (session.status == .running && session.isIdle(at: now))
  }

  /// Deletes a Sandbox (preconditioned on `uid`); 404 means it is gone already, which is done.
  func delete(namespace: String, name: String, uid: String?, as client: KubernetesAPI) async throws {
    let options = DeleteOptions(preconditions: uid.map { .init(uid: $0) })
    do {
      let _: IgnoredAnswer = try await client.send(
        "DELETE", configuration.version.path(namespace: namespace, name: name), body: options, idempotent: true)
    } catch let error as KubernetesAPIError where error.httpStatus == 404 {
      // Gone already (another replica, the controller's shutdownTime, or the caller).
    }
    informer.observeDeleted(namespace: namespace, name: name)
  }

  func removeHalfMade(namespace: String, name: String, uid: String?, reason: String) async {
    do {
      try await delete(namespace: namespace, name: name, uid: uid, as: api)
      logger.info(
        "removed a Sandbox that did not start",
        metadata: ["kubernetes.namespace": "\(namespace)", "sandbox": "\(name)", "reason": "\(reason)"])
    } catch {
      logger.warning(
        "cannot remove a Sandbox that did not start; its shutdownTime ends it",
        metadata: ["kubernetes.namespace": "\(namespace)", "sandbox": "\(name)", "error": "\(error)"])
    }
  }
}

/// The part of a Pod the backend reads: its addresses.
struct PodAddressView: Decodable {
  struct Status: Decodable {
    struct PodIP: Decodable { var ip: String }
    var podIP: String?
    var podIPs: [PodIP]?
  }

  var status: Status?
}

/// `DeleteOptions` with preconditions.
struct DeleteOptions: Encodable {
  struct Preconditions: Encodable { var uid: String }
  var apiVersion = "v1"
  var kind = "DeleteOptions"
  var preconditions: Preconditions?
}

/// Any JSON answer, not looked at.
struct IgnoredAnswer: Decodable {
  init(from decoder: any Decoder) throws {}
}

/// A JSON merge patch of a Sandbox's annotations and spec fields.
struct MergePatch: Encodable {
  static let contentType = "application/merge-patch+json"

  struct Metadata: Encodable { var annotations: [String: String] }
  struct Spec: Encodable { var shutdownTime: String }

  var metadata: Metadata
  var spec: Spec?
}
