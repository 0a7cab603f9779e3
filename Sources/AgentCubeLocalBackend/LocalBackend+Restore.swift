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
      var entry = Entry(record: record, phase: .running, persistedActivityAtMs: record.session.lastActivityAtMs)
      // The claim names the sandbox's init while it lives; one that names another live process
      // means the ids went to another sandbox (the claim was lost): this one must not run on.
      let holder = record.idRange < 0 ? record.process : idRanges.holder(of: record.idRange)
      let claimIsOurs = holder == nil || holder == record.process || !(holder?.isAlive ?? false)
      var reason: String? =
        if record.session.status != .running || record.process == nil {
          "was still starting when the server stopped"
        } else if !claimIsOurs {
          "its host ids are claimed by another sandbox"
        } else {
          endReason(entry, now: now)
        }
      if reason == nil, let process = record.process, holder != process {
        if (try? idRanges.transfer(index: record.idRange, from: holder, to: process)) != true {
          reason = "its host ids could not be claimed again"
        }
      }
      if reason == nil, let process = record.process {
        let state = await isolation.runc?.state(id: id, scratch: scratch)
        if state?.status != "running" || state?.pid != process.pid { reason = "runc no longer runs it" }
      }
      if reason == nil, let network = isolation.userModeNetwork, let process = record.process,
        !(record.network?.isAlive ?? false)
      {
        // The relay died with the previous server's process group or was never started: again.
        let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: id)
        entry.record.network = try? await network.start(for: process, output: layout.output, timeout: .seconds(10))
        if entry.record.network == nil { reason = "its network relay could not be started again" }
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
