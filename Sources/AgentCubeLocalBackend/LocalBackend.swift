import AgentCubeCore
import CAgentCubeProcess
import Glibc
import Logging

/// The embedded default backend: each session is a runc sandbox on this machine.
///
/// A session runs an image (see ``LocalImage``) in an OCI container of its own: a user namespace
/// whose 65,536 ids are an unprivileged host range no other sandbox has, a private network with
/// only its loopback, pid/ipc/uts/mount/cgroup namespaces, cgroup limits, the containers-common
/// seccomp filter, the host's `/usr` and `/etc` read-only and a workspace filesystem of its own at
/// `/workspace`. The server reaches the sandbox's port from inside its network
/// (``connect(sessionID:port:timeout:)``). The built-in `default` image is OpenSSH.
///
/// Records live in ``Configuration/stateDirectory``, one JSON file per session. Stopping the
/// server leaves sandboxes running; a backend started on the same directory re-adopts the ones
/// that runc still runs (same init pid and start time) and ends the rest.
///
/// ```swift
/// let backend = try await LocalBackend(configuration: .defaults(stateDirectory: "/var/lib/agentcube"), logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///   group.addTask { try await backend.run() }  // the reaper: TTL, idle timeout, dead sandboxes
///   ...
/// }
/// await backend.shutdown()
/// ```
public actor LocalBackend: SessionBackend {
  /// `local`, with the protections sandboxes get here.
  public nonisolated let descriptor: BackendDescriptor
  public nonisolated var wallClock: WallClock { configuration.clock }

  let configuration: Configuration
  let logger: Logger
  let store: SessionStore
  let isolation: Isolation
  let idRanges: IDRangePool
  let openSSH = OpenSSHImage()
  /// Why the OpenSSH image cannot start here, or `nil`.
  let openSSHUnavailable: String?
  var entries: [String: Entry] = [:]
  /// Workspace templates by size: made (or being made) once, copied for each sandbox.
  var templates: [Int64: Task<Void, any Error>] = [:]
  /// Held until shutdown: one server per state directory.
  var stateLock: FileLock?
  var isShutDown = false

  /// A session the backend holds, in one of its phases.
  struct Entry: Sendable {
    var record: SessionRecord
    var phase: Phase
    /// The last activity time written to disk.
    var persistedActivityAtMs: Int64
    /// Out-of-memory kills already reported in the status message.
    var oomKills: Int = 0

    var session: Session { record.session }
  }

  enum Phase: Sendable {
    /// Being started; invisible to reads.
    case starting
    /// Serving.
    case running
    /// Being ended; invisible to reads, its ids still taken.
    case stopping
  }

  /// Starts the backend: checks the configuration and the state directory, finds which
  /// protections hold here, then re-adopts live sandboxes and ends dead or expired ones.
  ///
  /// - Throws: ``LocalBackendError`` for an unusable configuration or state directory.
  public init(configuration: Configuration, logger: Logger) async throws {
    var configuration = configuration
    guard configuration.stateDirectory.hasPrefix("/") else {
      throw LocalBackendError("the state directory must be an absolute path, not '\(configuration.stateDirectory)'")
    }
    while configuration.stateDirectory.count > 1 && configuration.stateDirectory.hasSuffix("/") {
      configuration.stateDirectory.removeLast()
    }
    if configuration.images[LocalImage.defaultName] == nil {
      configuration.images[LocalImage.defaultName] = .openSSH
    }
    for (name, image) in configuration.images {
      guard LocalImage.isValidName(name) else { throw LocalBackendError("invalid image name '\(name)'") }
      if let problem = image.limits.problem() { throw LocalBackendError("image '\(name)': limits: \(problem)") }
    }
    if let problem = SecurePath.problemWithAncestors(of: configuration.stateDirectory) {
      throw LocalBackendError("unsafe state directory \(configuration.stateDirectory): \(problem)")
    }
    try FileSystem.makeDirectory(configuration.stateDirectory, mode: 0o711)
    // From here on the real path: a link on the way could be re-pointed after the check.
    guard let resolved = realpath(configuration.stateDirectory, nil) else {
      throw FileSystem.error("cannot resolve", configuration.stateDirectory)
    }
    configuration.stateDirectory = String(cString: resolved)
    free(resolved)
    if let problem = SecurePath.problemWithAncestors(of: configuration.stateDirectory) {
      throw LocalBackendError("unsafe state directory \(configuration.stateDirectory): \(problem)")
    }
    self.configuration = configuration
    self.logger = logger
    try SecurePath.ensurePrivateDirectory(configuration.stateDirectory, mode: 0o711)
    // Before anything touches the state: a second server on it would end the first one's sessions.
    // A few tries: a process forked elsewhere in this process holds a copy of a just-released lock
    // until it execs.
    var acquired = try FileLock.acquire(configuration.stateDirectory + "/lock")
    for _ in 0..<20 where acquired == nil {
      try await Task.sleep(for: .milliseconds(50))
      acquired = try FileLock.acquire(configuration.stateDirectory + "/lock")
    }
    guard let stateLock = acquired else {
      throw LocalBackendError("the state directory \(configuration.stateDirectory) is in use by another server")
    }
    self.stateLock = stateLock
    for (directory, mode) in [("sandboxes", 0o711), ("runc", 0o700), ("templates", 0o700)] {
      try SecurePath.ensurePrivateDirectory(configuration.stateDirectory + "/" + directory, mode: mode_t(mode))
    }
    self.store = try SessionStore(directory: configuration.stateDirectory + "/sessions")
    self.idRanges = try IDRangePool(
      base: configuration.idRangeBase, count: configuration.idRangeCount, claimDirectory: configuration.idLockDirectory)
    if let overlap = SubordinateIDs.overlap(base: configuration.idRangeBase, count: UInt64(configuration.idRangeCount) * 65_536) {
      throw LocalBackendError("the sandbox id ranges overlap \(overlap): choose another --id-range-base")
    }

    let isolation = await Isolation.probe(configuration, logger: logger)
    if isolation.available && !isolation.rootless {
      try SecurePath.ensurePrivateDirectory(FileSystem.parent(of: configuration.idLockDirectory), mode: 0o700)
      try SecurePath.ensurePrivateDirectory(configuration.idLockDirectory, mode: 0o700)
    }
    if isolation.available { _ = CAgentCubeProcess_becomeChildSubreaper() }
    self.isolation = isolation
    self.descriptor = BackendDescriptor(name: "local", isolated: isolation.isolated, isolationMessage: isolation.message)
    self.openSSHUnavailable =
      isolation.unavailable
      ?? (isolation.rootless
        ? "the default image needs a server running as root: sshd's privilege separation switches to a user of "
          + "its own, which a rootless sandbox (one uid) does not have; use a command image"
        : openSSH.unavailableReason())

    if isolation.isolated {
      logger.info("local sandboxes isolated", metadata: ["isolation.protections": "\(isolation.message)"])
    } else if isolation.available {
      logger.warning("local sandboxes are only partly isolated", metadata: ["isolation.protections": "\(isolation.message)"])
    } else {
      logger.warning("local sandboxes cannot start", metadata: ["isolation.message": "\(isolation.message)"])
    }
    if let unavailable = openSSHUnavailable, isolation.available {
      logger.warning("OpenSSH images cannot start", metadata: ["reason": "\(unavailable)"])
    }
    await restore()
    logger.info(
      "local backend started",
      metadata: [
        "state.directory": "\(configuration.stateDirectory)", "sessions.adopted": "\(entries.count)",
        "backend.isolated": "\(isolation.isolated)",
      ])
  }

  /// The running session `id`, or `nil` when there is none or it has expired.
  public func session(id: String) async throws -> Session? {
    guard let entry = entries[id], entry.phase == .running, !hasEnded(entry.session) else { return nil }
    return entry.session
  }

  /// The running sessions of `creator`, oldest first, ties by id.
  public func sessions(createdBy creator: String) async throws -> [Session] {
    entries.values
      .filter { $0.phase == .running && $0.session.creator == creator && !hasEnded($0.session) }
      .map(\.session)
      .sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
  }

  /// Sets a running session's TTL and expiry (the service checked the bounds) and persists them.
  public func renewSession(id: String, ttlSeconds: UInt32, expiresAtMs: Int64, caller: Caller) async throws -> Session {
    guard var entry = entries[id], entry.phase == .running, !entry.session.hasExpired(at: configuration.clock.now()) else {
      throw RPCError.notFound("session \(id) not found")
    }
    entry.record.session.ttlSeconds = ttlSeconds
    entry.record.session.expiresAtMs = expiresAtMs
    try store.save(entry.record)
    entries[id] = entry
    logger.debug("session renewed", metadata: ["session.id": "\(id)", "session.ttl": "\(ttlSeconds)"])
    return entry.session
  }

  /// Ends the session's sandbox (every process killed at once), unmounts its workspace and forgets
  /// it; returns when all that is done. Its files are removed in the background.
  public func deleteSession(id: String, caller: Caller) async throws {
    guard let entry = entries[id], entry.phase == .running else {
      throw RPCError.notFound("session \(id) not found")
    }
    entries[id]?.phase = .stopping
    // Finish even if the caller goes away: a half-deleted sandbox would be found only on restart.
    await Task { await self.terminate(id, reason: "deleted") }.value
  }

  /// A socket connected to `127.0.0.1:port` inside the session's sandbox network.
  ///
  /// - Throws: `NOT_FOUND` when the session is not running here; `UNAVAILABLE` when nothing
  ///   listens on the port or the sandbox is gone.
  public func connect(sessionID id: String, port: Int, timeout: Duration) async throws -> SandboxConnection {
    guard let entry = entries[id], entry.phase == .running, let process = entry.record.process,
      let port = UInt16(exactly: port), port > 0
    else {
      throw RPCError.notFound("session \(id) not found")
    }
    do {
      let descriptor = try await NetworkNamespaceDialer.connect(
        to: process, port: port, timeout: timeout, rootless: isolation.rootless)
      return .connectedSocket(descriptor: descriptor, description: "\(entry.session.name):\(port)")
    } catch {
      throw RPCError.unavailable("cannot connect to port \(port) of session \(id): \(error)")
    }
  }

  /// Notes activity on the session now; written to disk at most every ``Configuration/activityPersistInterval``.
  public func recordActivity(id: String) async {
    guard var entry = entries[id], entry.phase == .running else { return }
    let now = configuration.clock.now()
    entry.record.session.lastActivityAtMs = max(entry.session.lastActivityAtMs, now)
    entries[id] = entry
    if now - entry.persistedActivityAtMs >= configuration.activityPersistInterval.milliseconds {
      persist(id)
    }
  }

  /// Past its TTL or idle timeout: hidden from reads even before the reaper ends it.
  func hasEnded(_ session: Session) -> Bool {
    let now = configuration.clock.now()
    return session.hasExpired(at: now) || session.isIdle(at: now)
  }

  /// Writes a session's record; a failure is logged (the record on disk stays the previous one).
  func persist(_ id: String) {
    guard let entry = entries[id] else { return }
    do {
      try store.save(entry.record)
      entries[id]?.persistedActivityAtMs = entry.session.lastActivityAtMs
    } catch {
      logger.error("cannot write the session record", metadata: ["session.id": "\(id)", "error": "\(error)"])
    }
  }
}
