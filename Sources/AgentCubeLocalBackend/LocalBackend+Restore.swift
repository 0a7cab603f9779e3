import AgentCubeCore
import Logging

extension LocalBackend {
  /// Re-adopts the sessions of a previous run whose sandboxes still run, and reaps the others:
  /// those that were still starting, dead (checked by pid and process start time, so a recycled
  /// pid is never adopted), expired or idle. Sandbox directories without a record are removed.
  func restore() async {
    let (records, problems) = store.loadAll()
    for problem in problems {
      logger.error("unreadable session record set aside", metadata: ["file": "\(problem)"])
    }
    let now = wallClockMilliseconds()
    var victims: [(id: String, reason: String)] = []
    for record in records {
      let id = record.session.id
      // Claim the address again; a crash dropped the lock, and the sandbox still holds its port.
      let addressLock = try? FileLock.acquire("\(configuration.addressLockDirectory)/\(record.session.address).lock")
      var entry = Entry(
        record: record, phase: .running, isChild: false, persistedActivityAtMs: record.session.lastActivityAtMs,
        addressLock: addressLock ?? nil)
      let reason: String? =
        if record.session.status != .running || record.process == nil {
          "was still starting when the server stopped"
        } else {
          endReason(entry, now: now)
        }
      if let reason {
        entry.phase = .stopping
        victims.append((id, reason))
      } else {
        logger.info(
          "session re-adopted",
          metadata: [
            "session.id": "\(id)", "session.address": "\(record.session.address)",
            "sandbox.pid": "\(record.process?.pid ?? 0)",
          ])
      }
      entries[id] = entry
    }
    for victim in victims {
      await terminate(victim.id, reason: victim.reason)
    }
    let sandboxes = configuration.stateDirectory + "/sandboxes"
    for name in FileSystem.list(sandboxes) ?? [] where entries[name] == nil {
      logger.warning("removing a sandbox directory without a session record", metadata: ["session.id": "\(name)"])
      do {
        try FileSystem.removeTree(sandboxes + "/" + name)
      } catch {
        logger.error("cannot remove a sandbox directory", metadata: ["session.id": "\(name)", "error": "\(error)"])
      }
    }
  }
}
