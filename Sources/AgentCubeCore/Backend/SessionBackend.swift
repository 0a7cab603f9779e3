/// Where sandboxes come from: the local process backend, or Kubernetes.
///
/// The server's session service validates requests, enforces that only a session's creator may
/// see or act on it, and pages lists; a backend only creates, finds, renews and deletes sandboxes.
/// Every method may throw ``RPCError``; other errors become `INTERNAL`.
public protocol SessionBackend: Sendable {
  /// Name and isolation facts, reported by Health.
  var descriptor: BackendDescriptor { get }

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
