import AgentCubeCore
import Logging
import Synchronization

extension SandboxInformer {
  /// How one watch request ended.
  enum WatchOutcome {
    /// The server ended it cleanly (its `timeoutSeconds`).
    case ended(receivedEvents: Bool)
    /// 410: the resourceVersion is too old; list again.
    case expired
    /// Opening or reading failed; `relist`: resuming would meet the same trouble.
    case failed(any Error, relist: Bool, receivedEvents: Bool)
    case cancelled
  }

  /// Lists then watches one scope (a namespace, or all) until cancelled.
  func listAndWatch(namespace: String?) async {
    let path = configuration.version.path(namespace: namespace)
    var logger = self.logger
    logger[metadataKey: "kubernetes.namespace"] = "\(namespace ?? "*")"
    var backoff = Backoff(initial: configuration.initialBackoff, maximum: configuration.maxBackoff)
    var resourceVersion: String?
    var listed = false
    var expiredInARow = 0
    while !Task.isCancelled {
      if !listed {
        do {
          resourceVersion = try await list(namespace: namespace, path: path, logger: logger)
          listed = true
          backoff.reset()
        } catch {
          if Task.isCancelled { return }
          logger.warning("listing sandboxes failed; retrying", metadata: ["error": "\(error)"])
          count { $0.reconnects += 1 }
          guard await wait(&backoff) else { return }
          continue
        }
      }
      let started = ContinuousClock.now
      switch await watch(namespace: namespace, path: path, from: &resourceVersion, logger: logger) {
      case .cancelled:
        return
      case .ended(let receivedEvents):
        count { $0.watchTimeouts += 1 }
        expiredInARow = 0
        logger.debug(
          "watch ended; watching again", metadata: ["kubernetes.resourceVersion": "\(resourceVersion ?? "")"])
        // A server that ends watches at once, with nothing said, is not to be hammered.
        if !receivedEvents && ContinuousClock.now - started < .seconds(1) {
          guard await wait(&backoff) else { return }
        } else {
          backoff.reset()
        }
      case .expired:
        count { $0.relistsAfterExpiry += 1 }
        logger.info(
          "watch resourceVersion expired (410); listing again",
          metadata: ["kubernetes.resourceVersion": "\(resourceVersion ?? "")"])
        listed = false
        expiredInARow += 1
        if expiredInARow > 1 {
          guard await wait(&backoff) else { return }
        }
      case .failed(let error, let relist, let receivedEvents):
        count { $0.reconnects += 1 }
        logger.warning(
          "watching sandboxes failed; \(relist ? "listing again" : "resuming")",
          metadata: ["error": "\(error)", "kubernetes.resourceVersion": "\(resourceVersion ?? "")"])
        if relist { listed = false }
        if receivedEvents { backoff.reset() }
        guard await wait(&backoff) else { return }
      }
    }
  }

  /// Every page of the scope's list, then the cache's scope replaced; returns the list's
  /// resourceVersion (the watch's starting point).
  private func list(namespace: String?, path: String, logger: Logger) async throws -> String? {
    var items: [SandboxObject] = []
    var token: String?
    var resourceVersion: String?
    repeat {
      let page = try await api.list(
        path, labelSelector: configuration.labelSelector, limit: configuration.pageSize, continue: token,
        of: SandboxObject.self)
      count { $0.listPages += 1 }
      for var item in page.items {
        if item.metadata.namespace == nil { item.metadata.namespace = namespace }
        items.append(item)
      }
      resourceVersion = page.metadata.resourceVersion
      token = page.metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
    } while token != nil
    let scope = namespace ?? ""
    let (changed, waiters) = state.withLock { state in
      let changed = state.cache.replace(namespace: namespace, with: items, resourceVersion: resourceVersion, now: .now)
      state.statistics.lists += 1
      state.synced.insert(scope)
      state.resumePoints[scope] = resourceVersion
      var waiters: [CheckedContinuation<Void, Never>] = []
      if state.synced.count == scopes.count {
        waiters = Array(state.syncWaiters.values)
        state.syncWaiters = [:]
      }
      return (changed, waiters)
    }
    for waiter in waiters { waiter.resume() }
    logger.debug(
      "listed sandboxes",
      metadata: [
        "count": "\(items.count)", "changed": "\(changed)", "kubernetes.resourceVersion": "\(resourceVersion ?? "")",
      ])
    return resourceVersion
  }

  /// One watch request from `resourceVersion`, applying its events; `resourceVersion` follows the
  /// events and bookmarks, so a later watch resumes where this one stopped.
  private func watch(
    namespace: String?, path: String, from resourceVersion: inout String?, logger: Logger
  ) async -> WatchOutcome {
    let scope = namespace ?? ""
    var receivedEvents = false
    do {
      let events = try await api.watch(
        path, resourceVersion: resourceVersion, labelSelector: configuration.labelSelector,
        timeoutSeconds: configuration.watchTimeoutSeconds, maxEventBytes: configuration.maxEventBytes,
        of: SandboxObject.self)
      count { $0.watches += 1 }
      for try await event in events {
        receivedEvents = true
        let version: String?
        switch event {
        case .added(var object), .modified(var object):
          if object.metadata.namespace == nil { object.metadata.namespace = namespace }
          version = object.metadata.resourceVersion
          state.withLock { state in
            let outcome = state.cache.upsert(object, now: .now)
            if outcome == .stale {
              state.statistics.staleEventsIgnored += 1
            } else {
              state.statistics.eventsApplied += 1
            }
          }
        case .deleted(var object):
          if object.metadata.namespace == nil { object.metadata.namespace = namespace }
          version = object.metadata.resourceVersion
          state.withLock { state in
            let outcome = state.cache.remove(object)
            if outcome == .stale {
              state.statistics.staleEventsIgnored += 1
            } else {
              state.statistics.eventsApplied += 1
            }
          }
        case .bookmark(let metadata):
          version = metadata.resourceVersion
          count { $0.bookmarks += 1 }
        case .error(let status):
          if status.isExpired { return .expired }
          let error = KubernetesStatus.rpcError(httpStatus: status.code ?? 500, body: status, retryAfterSeconds: nil)
          return .failed(error, relist: true, receivedEvents: receivedEvents)
        }
        if let version, !version.isEmpty {
          resourceVersion = version
          state.withLock { $0.resumePoints[scope] = version }
        }
      }
      return Task.isCancelled ? .cancelled : .ended(receivedEvents: receivedEvents)
    } catch {
      if Task.isCancelled || error is CancellationError { return .cancelled }
      // A broken stream resumes; an event too long or unreadable would come again: list anew.
      let relist = RPCError(converting: error).map { $0.code != .unavailable && $0.code != .unauthenticated } ?? true
      return .failed(error, relist: relist, receivedEvents: receivedEvents)
    }
  }

  /// Sleeps the backoff's next wait; false when cancelled meanwhile.
  private func wait(_ backoff: inout Backoff) async -> Bool {
    do {
      try await Task.sleep(for: backoff.next())
      return true
    } catch {
      return false
    }
  }

  private func count(_ change: (inout Statistics) -> Void) {
    state.withLock { change(&$0.statistics) }
  }
}
