import AgentCubeCore
import AgentCubeKubernetes

extension KubernetesBackend {
  /// What a state of the new Sandbox means for the create waiting on it.
  enum Readiness: Sendable {
    case ready(SandboxObject)
    case failed(String)
    case deleted
  }

  /// Waits until the Sandbox is ready (`Ready=True` with a pod IP), fails (a terminal
  /// condition), is deleted, or `deadline` passes. Watch events come through `changes`; the object
  /// is also read directly every ``Configuration/readinessPollInterval`` in case the watch is down.
  ///
  /// - Throws: `FAILED_PRECONDITION` with the condition's reason and message, or when the Sandbox
  ///   was deleted while starting; `DEADLINE_EXCEEDED` with the last state seen.
  func waitUntilReady(
    namespace: String, name: String, changes: AsyncStream<SandboxObject?>, deadline: ContinuousClock.Instant
  ) async throws -> SandboxObject {
    let outcome: Readiness? = try await withThrowingTaskGroup(of: Readiness?.self) { group in
      group.addTask {
        for await state in changes {
          if let decided = Self.readiness(of: state) { return decided }
        }
        return nil  // the stream ended: cancelled
      }
      group.addTask { [self] in
        while true {
          try await Task.sleep(for: configuration.readinessPollInterval)
          do {
            let object: SandboxObject = try await api.send(
              "GET", configuration.version.path(namespace: namespace, name: name), body: String?.none, idempotent: true)
            informer.observe(object)
            if let decided = Self.readiness(of: object) { return decided }
          } catch let error as KubernetesAPIError where error.httpStatus == 404 {
            return .deleted
          } catch is KubernetesAPIError {
            // The API is down or failing: the deadline decides; the watch may still answer.
          }
        }
      }
      group.addTask {
        try await Task.sleep(until: deadline, clock: .continuous)
        return nil
      }
      defer { group.cancelAll() }
      return try await group.next() ?? nil
    }
    switch outcome {
    case .ready(let object):
      return object
    case .failed(let reason):
      throw RPCError.failedPrecondition("the sandbox did not start: \(reason)")
    case .deleted:
      throw RPCError.failedPrecondition("the Sandbox \(namespace)/\(name) was deleted while it started")
    case nil:
      try Task.checkCancellation()
      let last = informer.object(namespace: namespace, name: name).map { SandboxRecord.state(of: $0).1 } ?? "no state seen"
      throw RPCError(code: .deadlineExceeded, message: "the sandbox was not ready in time: \(last)")
    }
  }

  /// Whether a state decides the wait: ready, failed or deleted; `nil` while it is starting.
  static func readiness(of object: SandboxObject?) -> Readiness? {
    guard let object else { return .deleted }
    if let failure = SandboxRecord.terminalFailure(of: object) { return .failed(failure) }
    if case (.running, _) = SandboxRecord.state(of: object) { return .ready(object) }
    return nil
  }
}
