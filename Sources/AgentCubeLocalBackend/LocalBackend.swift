import AgentCubeCore
import Glibc
import Logging

/// The embedded default backend: each session is an isolated process tree on this machine.
///
/// A session runs an image (see ``LocalImage``) in its own bubblewrap sandbox, process group and
/// loopback address (like a pod IP), with a private workspace directory. The built-in `default`
/// image is OpenSSH, reached by the server's tunnel at `address:22`.
///
/// Records live in ``Configuration/stateDirectory``, one JSON file per session. Stopping the
/// server leaves sandboxes running; a backend started on the same directory re-adopts the ones
/// that are still alive (same pid and process start time) and reaps the rest.
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
  /// `local`, with whether bubblewrap isolates sandboxes here.
  public nonisolated let descriptor: BackendDescriptor

  let configuration: Configuration
  let logger: Logger
  let store: SessionStore
  let isolation: Isolation
  let launcher: SandboxLauncher
  let openSSH = OpenSSHImage()
  /// Why the OpenSSH image cannot start here, or `nil`.
  let openSSHUnavailable: String?
  let sshAccount: UserAccount?
  var pool: AddressPool
  var entries: [String: Entry] = [:]
  /// Held until shutdown: one server per state directory.
  var stateLock: FileLock?
  var isShutDown = false

  /// A session the backend holds, in one of its phases.
  struct Entry: Sendable {
    var record: SessionRecord
    var phase: Phase
    /// Spawned by this process (not re-adopted): its leader is collected with waitpid.
    var isChild: Bool
    /// The last activity time written to disk.
    var persistedActivityAtMs: Int64
    /// This server's claim on the session's address; released with the entry.
    var addressLock: FileLock?

    var session: Session { record.session }
  }

  enum Phase: Sendable {
    /// Being started; invisible to reads.
    case starting
    /// Serving.
    case running
    /// Being ended; invisible to reads, its address still taken.
    case stopping
  }

  /// Starts the backend: checks the configuration, probes bubblewrap once, then re-adopts live
  /// sandboxes from the state directory and reaps dead or expired ones.
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
    for name in configuration.images.keys where !LocalImage.isValidName(name) {
      throw LocalBackendError("invalid image name '\(name)'")
    }
    self.configuration = configuration
    self.logger = logger
    self.pool = try AddressPool(cidr: configuration.addressPool)
    try FileSystem.makeDirectory(configuration.stateDirectory, mode: 0o700)
    // Before anything touches the state: a second server on it would reap the first one's sessions.
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
    try FileSystem.makeDirectory(configuration.addressLockDirectory, mode: 0o1777)
    try FileSystem.makeDirectory(configuration.stateDirectory + "/sandboxes", mode: 0o700)
    self.store = try SessionStore(directory: configuration.stateDirectory + "/sessions")

    let isRoot = geteuid() == 0
    let isolation = await Isolation.probe(
      bubblewrap: configuration.bubblewrapPath, isRoot: isRoot, scratchDirectory: configuration.stateDirectory,
      logger: logger)
    self.isolation = isolation
    self.descriptor = BackendDescriptor(
      name: "local", isolated: isolation.available, isolationMessage: isolation.message)
    let sshAccount = UserAccount.named(configuration.sshUser)
    self.sshAccount = sshAccount
    let hidden = SandboxLauncher.sensitivePaths(home: sshAccount?.home)
    self.launcher = SandboxLauncher(
      bubblewrap: configuration.bubblewrapPath, isolated: isolation.available,
      stateDirectory: configuration.stateDirectory, openFileLimit: configuration.openFileLimit,
      processLimit: isRoot ? nil : configuration.processLimit,
      prlimit: ["/usr/bin/prlimit", "/bin/prlimit"].first { access($0, X_OK) == 0 },
      hiddenDirectories: hidden.directories, hiddenFiles: hidden.files)
    var unavailable = openSSH.unavailableReason(isRoot: isRoot, isolation: isolation)
    if unavailable == nil && sshAccount == nil {
      unavailable = "the SSH user '\(configuration.sshUser)' does not exist on this machine"
    }
    self.openSSHUnavailable = unavailable

    if !isolation.available {
      logger.warning("local sandboxes are NOT isolated", metadata: ["isolation.message": "\(isolation.message)"])
    }
    if let unavailable, configuration.images.values.contains(where: { $0.kind == .openSSH }) {
      logger.warning("OpenSSH images cannot start", metadata: ["reason": "\(unavailable)"])
    }
    await restore()
    logger.info(
      "local backend started",
      metadata: [
        "state.directory": "\(configuration.stateDirectory)", "sessions.adopted": "\(entries.count)",
        "backend.isolated": "\(isolation.available)",
      ])
  }

  /// The running session `id`, or `nil` when there is none or it has expired.
  public func session(id: String) async throws -> Session? {
    guard let entry = entries[id], entry.phase == .running, !isExpired(entry.session) else { return nil }
    return entry.session
  }

  /// The running sessions of `creator`, oldest first, ties by id.
  public func sessions(createdBy creator: String) async throws -> [Session] {
    entries.values
      .filter { $0.phase == .running && $0.session.creator == creator && !isExpired($0.session) }
      .map(\.session)
      .sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
  }

  /// Sets a running session's TTL and expiry (the service checked the bounds) and persists them.
  public func renewSession(id: String, ttlSeconds: UInt32, expiresAtMs: Int64, caller: Caller) async throws -> Session {
    guard var entry = entries[id], entry.phase == .running, !isExpired(entry.session) else {
      throw RPCError.notFound("session \(id) not found")
    }
    entry.record.session.ttlSeconds = ttlSeconds
    entry.record.session.expiresAtMs = expiresAtMs
    try store.save(entry.record)
    entries[id] = entry
    logger.debug("session renewed", metadata: ["session.id": "\(id)", "session.ttl": "\(ttlSeconds)"])
    return entry.session
  }

  /// Ends the session's sandbox (SIGTERM to its process group, SIGKILL after the grace period),
  /// removes its workspace and forgets it; returns when all that is done.
  public func deleteSession(id: String, caller: Caller) async throws {
    guard let entry = entries[id], entry.phase == .running else {
      throw RPCError.notFound("session \(id) not found")
    }
    entries[id]?.phase = .stopping
    // Finish even if the caller goes away: a half-deleted sandbox would be found only on restart.
    await Task { await self.terminate(id, reason: "deleted") }.value
  }

  /// Notes activity on the session now; written to disk at most every ``Configuration/activityPersistInterval``.
  public func recordActivity(id: String) async {
    guard var entry = entries[id], entry.phase == .running else { return }
    let now = wallClockMilliseconds()
    entry.record.session.lastActivityAtMs = max(entry.session.lastActivityAtMs, now)
    entries[id] = entry
    if now - entry.persistedActivityAtMs >= configuration.activityPersistInterval.milliseconds {
      persist(id)
    }
  }

  func isExpired(_ session: Session, now: Int64 = wallClockMilliseconds()) -> Bool {
    now >= session.expiresAtMs
  }

  func isIdle(_ session: Session, now: Int64 = wallClockMilliseconds()) -> Bool {
    session.idleTimeoutSeconds > 0 && now - session.lastActivityAtMs >= Int64(session.idleTimeoutSeconds) * 1000
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

extension Duration {
  var milliseconds: Int64 {
    let (seconds, attoseconds) = components
    return seconds * 1000 + attoseconds / 1_000_000_000_000_000
  }
}
