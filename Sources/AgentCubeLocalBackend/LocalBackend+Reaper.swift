import AgentCubeCore
import Glibc
import Logging
import ServiceLifecycle

extension LocalBackend {
  /// Runs the reaper until graceful shutdown, the task's cancellation or ``shutdown()``: every
  /// ``Configuration/reapInterval`` it ends sessions past their TTL or idle timeout and forgets
  /// sandboxes that died, notes out-of-memory kills in the session's status, and writes pending
  /// activity times.
  public func run() async throws {
    await cancelWhenGracefulShutdown { await self.reap() }
    flushActivity(force: true)
  }

  private func reap() async {
    while !isShutDown {
      do {
        try await Task.sleep(for: configuration.reapInterval)
      } catch {
        break
      }
      await reapOnce()
    }
  }

  /// Stops the reaper and writes every record; sandboxes keep running and are re-adopted by the
  /// next backend on the same state directory. New sessions are refused from now on.
  public func shutdown() async {
    guard !isShutDown else { return }
    isShutDown = true
    flushActivity(force: true)
    // The next server (maybe in this process) takes over the state; the sandboxes' inits keep
    // holding their id ranges.
    stateLock = nil
    logger.info("local backend stopped; sandboxes keep running", metadata: ["sessions.running": "\(entries.count)"])
  }

  /// One pass of the reaper.
  func reapOnce() async {
    let now = configuration.clock.now()
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
    noteOutOfMemoryKills()
    flushActivity(force: false)
  }

  /// Why a running session must end now, or `nil`.
  func endReason(_ entry: Entry, now: Int64) -> String? {
    if let process = entry.record.process, !process.isAlive {
      // The init is this process's child once runc has gone (the server is a child subreaper).
      if let status = ChildProcess.reap(process.pid) { return "sandbox exited (\(status))" }
      return "sandbox is gone"
    }
    if entry.session.hasExpired(at: now) { return "ttl expired" }
    if entry.session.isIdle(at: now) { return "idle timeout" }
    return nil
  }

  /// Puts new out-of-memory kills of running sandboxes into their status message.
  func noteOutOfMemoryKills() {
    guard let cgroup = isolation.memoryCgroup else { return }
    for (id, entry) in entries where entry.phase == .running {
      let (path, key) = cgroup.oomEvents(id: id)
      guard let kills = Self.counter(key, in: FileSystem.read(path, limit: 4096)), kills > entry.oomKills else { continue }
      let limit = configuration.images[entry.session.image]?.limits.memoryBytes ?? 0
      entries[id]?.oomKills = kills
      entries[id]?.record.session.statusMessage =
        "out of memory: the kernel killed \(kills) process\(kills == 1 ? "" : "es") at the \(limit >> 20) MiB memory limit"
      persist(id)
      logger.warning("sandbox out of memory", metadata: ["session.id": "\(id)", "sandbox.oom_kills": "\(kills)"])
    }
  }

  /// The value of `key` in a cgroup flat-keyed file (`key value` lines).
  static func counter(_ key: String, in bytes: [UInt8]?) -> Int? {
    guard let bytes else { return nil }
    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
      let fields = line.split(separator: " ")
      if fields.count == 2, fields[0] == key { return Int(fields[1]) }
    }
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

  /// Ends a session: runc kills every process of the sandbox at once (its pid namespace ends
  /// with its init) and removes its cgroups, the init is collected, the workspace unmounted, the
  /// record removed and the host ids freed; the sandbox's files go in the background. The record
  /// goes before the files, and restart removes sandbox directories without a record.
  func terminate(_ id: String, reason: String) async {
    guard let entry = entries[id] else { return }
    entries[id]?.phase = .stopping
    var logger = self.logger
    logger[metadataKey: "session.id"] = "\(id)"
    let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: id)
    let killed = await destroySandbox(
      layout, process: entry.record.process, network: entry.record.network, logger: logger)
    do {
      try store.remove(id: id)
    } catch {
      logger.error("cannot remove the session record", metadata: ["error": "\(error)"])
    }
    if killed {
      // Whoever holds the range now: the init (gone), or this server while it was starting.
      if entry.record.idRange >= 0 {
        idRanges.release(index: entry.record.idRange, heldBy: entry.record.process ?? .server)
        idRanges.release(index: entry.record.idRange, heldBy: .server)
      }
    } else {
      // The claim names the init, which may still run: nobody gets those ids until it is gone.
      logger.error("the sandbox could not be deleted; its host ids stay claimed by its init")
    }
    entries[id] = nil
    logger.info("session ended", metadata: ["session.end.reason": "\(reason)"])
  }

  /// Deletes the container, collects its init, unmounts the workspace and removes the bundle in
  /// the background. Whether nothing of the sandbox runs any more.
  func destroySandbox(
    _ layout: SandboxLayout, process: ProcessIdentity?, network: ProcessIdentity? = nil, logger: Logger
  ) async -> Bool {
    var killed = true
    // SIGKILL to the init ends its whole pid namespace at once; `runc delete --force` would do the
    // same but then poll for the end in 100 ms steps. Only while the pid is still the init's.
    if let process, process.isAlive {
      kill(process.pid, SIGKILL)
      await waitUntilGone(process)
    }
    if let runc = isolation.runc {
      do {
        // Its messages go beside runc's state: the sandbox's own log may be gone already.
        try await runc.delete(id: layout.id, output: configuration.stateDirectory + "/runc/delete.log")
      } catch {
        logger.error("runc delete failed", metadata: ["error": "\(error)"])
        killed = false
      }
    }
    if let relay = network { isolation.userModeNetwork?.stop(relay) }
    if let process {
      await waitUntilGone(process)
      if process.isAlive { killed = false }
    }
    guard killed else { return false }
    isolation.workspaceVolumes?.unmount(layout.volume)
    TreeRemover.removeInBackground(layout.root, logger: logger)
    return true
  }

  /// Waits (at most 2 s) until a sandbox init that got SIGKILL has ended, collecting it when it is
  /// this process's child (the server is a child subreaper).
  private func waitUntilGone(_ process: ProcessIdentity) async {
    let deadline = ContinuousClock.now + .seconds(2)
    while process.isAlive && ContinuousClock.now < deadline {
      _ = ChildProcess.reap(process.pid)
      // A plain sleep when cancelled: Task.sleep would return at once, spinning.
      if Task.isCancelled { usleep(500) } else { try? await Task.sleep(for: .microseconds(500)) }
    }
    _ = ChildProcess.reap(process.pid)
  }
}
