public import ServiceLifecycle

/// Where sandboxes come from: local runc sandboxes, Kubernetes Sandbox objects, or memory (tests).
///
/// The server's session service validates requests, applies defaults, enforces that only a
/// session's creator may see or act on it, and pages lists; a backend only creates, finds,
/// renews and deletes sandboxes and reaches their ports.
///
/// - Lifecycle: a backend is a `Service`. Its `run()` does its background work (the local
///   reaper, the Kubernetes informer and garbage collection) until graceful shutdown or
///   cancellation; ``shutdown()`` then releases what it holds. Calls made before `run()` started
///   may see an incomplete view; after `shutdown()` they fail with `UNAVAILABLE`.
/// - Consistency: reads (``session(id:)``, ``sessions(createdBy:)``, ``connect(sessionID:port:timeout:)``)
///   come from the backend's own view — for Kubernetes the informer's cache, read as the server —
///   and see the backend's own writes at once; writes act as the caller where the backend has
///   callers' credentials. Other replicas' writes show up within a watch event.
/// - Time: TTLs, idle timeouts and activity are read from the backend's injected ``WallClock``.
/// - Errors: every method may throw ``RPCError`` or an ``RPCErrorConvertible``; other errors
///   become a bare `INTERNAL` (details logged only).
public protocol SessionBackend: Service, Sendable {
  /// Name and isolation facts, reported by Health.
  var descriptor: BackendDescriptor { get }

  /// The time of day the backend judges TTLs, idle timeouts and activity by; the session service
  /// stamps creation and expiry times with it too, so that both agree.
  var wallClock: WallClock { get }

  /// Starts a sandbox for `spec` and returns once it serves (status running), or throws.
  ///
  /// A sandbox that dies while starting is reported as `FAILED_PRECONDITION` or `UNAVAILABLE`
  /// with the reason; one that is not serving by `deadline` is removed and reported as
  /// `DEADLINE_EXCEEDED`. `caller` is whom to act as (the Kubernetes backend uses its token).
  func createSession(_ spec: SessionSpec, caller: Caller, deadline: ContinuousClock.Instant) async throws -> Session

  /// The session with `id`, or `nil` when there is none or it has expired.
  func session(id: String) async throws -> Session?

  /// All live sessions created by `creator` (its username), oldest first, ties by id.
  func sessions(createdBy creator: String) async throws -> [Session]

  /// Sets the session's expiry to `expiresAtMs` and its TTL to `ttlSeconds`; returns the updated session.
  func renewSession(id: String, ttlSeconds: UInt32, expiresAtMs: Int64, caller: Caller) async throws -> Session

  /// Ends the sandbox and forgets the session. Unknown ids throw `NOT_FOUND`.
  func deleteSession(id: String, caller: Caller) async throws

  /// Reaches `port` of the running session's sandbox, within `timeout`: what a tunnel connects to.
  ///
  /// The service has already checked the caller and the session; a refused or unreachable port
  /// throws `UNAVAILABLE` naming it.
  func connect(sessionID: String, port: Int, timeout: Duration) async throws -> SandboxConnection

  /// Records activity on the session now (tunnel traffic, calls); cheap and rate-limited by the backend.
  func recordActivity(id: String) async

  /// Stops taking new sessions and releases what the backend holds (locks, connections); called
  /// once `run()` returned, or instead of it. Sandboxes keep running.
  func shutdown() async
}

/// Facts about a backend that Health reports.
public struct BackendDescriptor: Hashable, Sendable {
  /// Short name, e.g. `local` or `kubernetes`.
  public var name: String
  /// Whether sandboxes are isolated from the host and each other.
  public var isolated: Bool
  /// How sandboxes are isolated, or why they are not.
  public var isolationMessage: String

  public init(name: String, isolated: Bool, isolationMessage: String) {
    self.name = name
    self.isolated = isolated
    self.isolationMessage = isolationMessage
  }
}

/// The authenticated caller a backend acts for: identity and the token it presented.
public struct Caller: Sendable {
  /// Who is calling.
  public var identity: Identity
  /// The caller's own token (the Kubernetes backend acts with it); never log it.
  public var token: BearerToken

  public init(identity: Identity, token: BearerToken) {
    self.identity = identity
    self.token = token
  }
}
