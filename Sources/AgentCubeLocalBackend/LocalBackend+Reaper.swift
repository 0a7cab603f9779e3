import AgentCubeCore
import Glibc
import Logging

extension LocalBackend {
  /// Runs the reaper until the task is cancelled or ``shutdown()`` is called: every
  /// ``Configuration/reapInterval`` it ends sessions past their TTL or idle timeout and forgets
  /// sandboxes that died, and writes pending activity times.
  public func run() async throws {
    while !isShutDown {
      do {
        try await Task.sleep(for: configuration.reapInterval)
      } catch {
        break
      }
      await reapOnce()
    }
    flushActivity(force: true)
  }

  /// Stops the reaper and writes every record; sandboxes keep running and are re-adopted by the
  /// next backend on the same state directory. New sessions are refused from now on.
  public func shutdown() async {
    isShutDown = true
    flushActivity(force: true)
    // The next server (maybe in this process) takes over the state and the addresses.
    for id in entries.keys { entries[id]?.addressLock = nil }
    stateLock = nil
    logger.info("local backend stopped; sandboxes keep running", metadata: ["sessions.running": "\(entries.count)"])
  }

  /// One pass of the reaper.
  func reapOnce() async {
    let now = wallClockMilliseconds()
    var victims: [(id: String, reason: String)] = []
    for (id, entry) in entries where entry.phase == .running {
      if let reason = endReason(entry, now: now) {
        victims.append((id, reason))
        entries[id]?.phase = .stopping
      }
    }
    await withTaskGroup(of: Void.self) { group in
      for victim in victims {
        group.addTask { await self.terminate(victim.id, reason: victim.reason) }
      }
    }
    flushActivity(force: false)
  }

  /// Why a running session must end now, or `nil`.
  func endReason(_ entry: Entry, now: Int64) -> String? {
    if let process = entry.record.process {
      if entry.isChild, let status = ChildProcess.reap(process.pid) { return "sandbox exited (\(status))" }
      if !process.isAlive { return "sandbox is gone" }
    }
    if isExpired(entry.session, now: now) { return "ttl expired" }
    if isIdle(entry.session, now: now) { return "idle timeout" }
    return nil
  }

  func flushActivity(force: Bool) {
    let interval = configuration.activityPersistInterval.milliseconds
    for (id, entry) in entries where entry.phase == .running {
      let pending = entry.session.lastActivityAtMs != entry.persistedActivityAtMs
      if pending && (force || entry.session.lastActivityAtMs - entry.persistedActivityAtMs >= interval) {
        persist(id)
      }
    }
  }

  /// Ends a session: its process group gets SIGTERM, then SIGKILL after the grace period; its
  /// files and record are removed and its address freed. The record goes last, so a crash in
  /// between leaves something the next start reaps.
  func terminate(_ id: String, reason: String) async {
    guard let entry = entries[id] else { return }
    entries[id]?.phase = .stopping
    var logger = self.logger
    logger[metadataKey: "session.id"] = "\(id)"
    if let process = entry.record.process {
      await stop(process, isChild: entry.isChild, logger: logger)
    }
    let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: id)
    do {
      try FileSystem.removeTree(layout.root)
      try store.remove(id: id)
    } catch {
      logger.error("cannot remove the session's files", metadata: ["error": "\(error)"])
    }
    entries[id] = nil
    logger.info("session ended", metadata: ["session.end.reason": "\(reason)"])
  }

  /// Signals the sandbox's process group and waits, bounded, until no member is left.
  private func stop(_ process: ProcessIdentity, isChild: Bool, logger: Logger) async {
    // The group is named by the leader's pid. Signal it only when that pid is still our leader
    // (alive or a zombie: same start time) or free; when another process took the pid, the old
    // group is necessarily empty (a pid is not reused while it names a group) and the number
    // now belongs to someone else.
    if let stat = ProcessStat.read(pid: process.pid), stat.startTime != process.startTime { return }
    let group = ProcessGroup(id: process.pid)
    group.send(SIGTERM)
    if await waitUntilEmpty(group, leader: isChild ? process.pid : nil, within: configuration.stopGrace) { return }
    logger.debug("sandbox did not exit on SIGTERM; sending SIGKILL")
    group.send(SIGKILL)
    if await waitUntilEmpty(group, leader: isChild ? process.pid : nil, within: .seconds(5)) { return }
    logger.error("sandbox processes survived SIGKILL", metadata: ["sandbox.pid": "\(process.pid)"])
  }

  private func waitUntilEmpty(_ group: ProcessGroup, leader: Int32?, within limit: Duration) async -> Bool {
    let deadline = ContinuousClock.now + limit
    var pause = Duration.milliseconds(2)
    while true {
      if let leader { _ = ChildProcess.reap(leader) }
      if !group.hasLiveMembers { return true }
      guard ContinuousClock.now < deadline else { return false }
      if Task.isCancelled {
        usleep(UInt32(pause.milliseconds * 1000))  // Task.sleep would return at once, spinning
      } else {
        try? await Task.sleep(for: pause)
      }
      pause = min(pause * 2, .milliseconds(50))
    }
  }
}
