import AgentCubeCore
import Logging

extension LocalBackend {
  /// Re-adopts the sessions of a previous run whose sandboxes runc still runs with the same init
  /// (pid and start time), and ends the others: those that were still starting, dead, expired or
  /// idle. Sandbox directories without a record are deleted (container, mount, files).
  func restore() async {
    let (records, problems) = store.loadAll()
    for problem in problems {
      logger.error("unreadable session record set aside", metadata: ["file": "\(problem)"])
    }
    let now = configuration.clock.now()
    var victims: [(id: String, reason: String)] = []
    let scratch = configuration.stateDirectory + "/restore.log"
    for record in records {
      let id = record.session.id
      // Claim the ids again; a crash dropped the lock, and the sandbox still runs as them.
      let claim = idRanges.claim(index: record.idRange)
      var entry = Entry(
        record: record, phase: .running, persistedActivityAtMs: record.session.lastActivityAtMs, idClaim: claim)
      var reason: String? =
        if record.session.status != .running || record.process == nil {
          "was still starting when the server stopped"
        } else if claim == nil {
          "its host ids are claimed by another server"
        } else {
          endReason(entry, now: now)
        }
      if reason == nil, let process = record.process {
        let state = await isolation.runc?.state(id: id, scratch: scratch)
        if state?.status != "running" || state?.pid != process.pid { reason = "runc no longer runs it" }
      }
      if let reason {
        entry.phase = .stopping
        victims.append((id, reason))
      } else {
        logger.info("session re-adopted", metadata: ["session.id": "\(id)", "sandbox.pid": "\(record.process?.pid ?? 0)"])
      }
      entries[id] = entry
    }
    for victim in victims {
      await terminate(victim.id, reason: victim.reason)
    }
    let sandboxes = configuration.stateDirectory + "/sandboxes"
    for name in FileSystem.list(sandboxes) ?? [] where entries[name] == nil {
      logger.warning("removing a sandbox without a session record", metadata: ["session.id": "\(name)"])
      guard SandboxLayout.isValidID(name) else {
        TreeRemover.removeInBackground(sandboxes + "/" + name, logger: logger)
        continue
      }
      let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: name)
      _ = await destroySandbox(layout, process: nil, logger: logger)
    }
  }
}
