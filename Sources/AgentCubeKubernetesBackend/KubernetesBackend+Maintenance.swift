import AgentCubeCore
import AgentCubeKubernetes
import Logging
import Synchronization

extension KubernetesBackend {
  /// Every ``Configuration/collectionInterval``: writes activity back and deletes ended sessions,
  /// until cancelled.
  func maintain() async {
    while !Task.isCancelled {
      do {
        try await Task.sleep(for: configuration.collectionInterval)
      } catch {
        return
      }
      await writeActivity()
      await collectEnded()
    }
  }

  /// Writes each session's pending activity as annotations (the server's account, a merge patch),
  /// at most once per ``Configuration/activityWriteInterval`` per session.
  func writeActivity() async {
    let now = wallClock.now()
    let interval = configuration.activityWriteInterval.milliseconds
    let due: [(String, Int64)] = bookkeeping.withLock { state in
      state.activity.filter { id, _ in now - (state.written[id] ?? 0) >= interval }.map { ($0.key, $0.value) }
    }
    for (id, at) in due {
      guard let (object, _) = find(id), let namespace = object.metadata.namespace, let name = object.metadata.name else {
        bookkeeping.withLock { $0.activity[id] = nil }
        continue
      }
      let patch = MergePatch(
        metadata: .init(annotations: [
          SandboxRecord.Annotation.lastActivity: SandboxRecord.rfc3339(milliseconds: at),
          SandboxRecord.Annotation.lastActivityMs: String(at),
        ]),
        spec: nil)
      do {
        let patched: SandboxObject = try await api.send(
          "PATCH", configuration.version.path(namespace: namespace, name: name), body: patch, idempotent: true,
          contentType: MergePatch.contentType)
        informer.observe(patched)
        bookkeeping.withLock { state in
          state.written[id] = now
          if state.activity[id] == at { state.activity[id] = nil }
        }
      } catch {
        logger.warning("cannot write a session's activity", metadata: ["session.id": "\(id)", "error": "\(error)"])
      }
    }
  }

  /// Deletes the Sandboxes of expired and idle sessions with the server's account. Every replica
  /// may do it at once: deletes are preconditioned on the uid, and 404 is done.
  func collectEnded() async {
    let pending = bookkeeping.withLock { $0.activity }
    let now = wallClock.now()
    for object in informer.objects() {
      guard let session = SandboxRecord.session(from: object, sshPort: configuration.sshPort),
        hasEnded(withPendingActivity(session, pending), now: now), object.metadata.deletionTimestamp == nil,
        let namespace = object.metadata.namespace, let name = object.metadata.name
      else { continue }
      let reason = session.hasExpired(at: now) ? "expired" : "idle"
      do {
        try await delete(namespace: namespace, name: name, uid: object.metadata.uid, as: api)
        bookkeeping.withLock {
          $0.activity[session.id] = nil
          $0.written[session.id] = nil
        }
        logger.info("session ended", metadata: ["session.id": "\(session.id)", "reason": "\(reason)"])
      } catch let error as KubernetesAPIError where error.httpStatus == 409 {
        // 409: the precondition failed, another object of that name: not ours to delete.
      } catch {
        logger.warning("cannot delete an ended session's Sandbox", metadata: ["session.id": "\(session.id)", "error": "\(error)"])
      }
    }
  }
}
