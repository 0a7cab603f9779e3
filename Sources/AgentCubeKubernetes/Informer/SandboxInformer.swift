public import Logging
import Synchronization

/// The Kubernetes backend's view of its Sandboxes: a cache kept current by listing and then
/// watching the `managed-by` Sandboxes (client-go's informer pattern). The backend keeps no state of
/// its own; Get, List and OpenTunnel read this cache.
///
/// ``run()`` lists (paged) and watches, in all namespaces or once per configured namespace,
/// resuming each watch from the last resourceVersion seen (events and bookmarks), listing again
/// after `410 Gone`, reconnecting with backoff and jitter after errors or cut streams. It reads with
/// the injected ``KubernetesAPI``'s credentials (the server's own: `get,list,watch` on sandboxes).
///
/// Read your own writes: the product hands what it just wrote to ``observe(_:)`` and
/// ``observeDeleted(namespace:name:resourceVersion:)``, so its creator sees a new or deleted
/// session at once; other replicas see it within a watch event. Stale events never roll such a
/// write back.
///
/// ```swift
/// let informer = SandboxInformer(api: api, configuration: .init(namespaces: ["team-a"]), logger: logger)
/// group.addTask { await informer.run() }
/// guard await informer.waitUntilSynced(timeout: .seconds(30)) else { … }
/// let object = informer.object(namespace: "team-a", name: "s1")
/// ```
public final class SandboxInformer: Sendable {
  struct State {
    var cache: SandboxCache
    var synced: Set<String> = []
    var syncWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    var resumePoints: [String: String] = [:]
    var statistics = Statistics()
    var nextID: UInt64 = 0
  }

  let api: KubernetesAPI
  let configuration: Configuration
  let logger: Logger
  let state: Mutex<State>
  /// The list-and-watch scopes: the namespaces, or `nil` for all.
  let scopes: [String?]

  public init(api: KubernetesAPI, configuration: Configuration, logger: Logger) {
    self.api = api
    self.configuration = configuration
    self.logger = logger
    self.state = Mutex(State(cache: SandboxCache(indexedLabel: configuration.indexedLabel)))
    var seen: Set<String> = []
    let namespaces = configuration.namespaces.filter { !$0.isEmpty && seen.insert($0).inserted }
    self.scopes = namespaces.isEmpty ? [nil] : namespaces
  }

  /// Lists then watches until the task is cancelled; API errors are logged and retried with
  /// backoff and jitter (never thrown); returns on cancellation.
  public func run() async {
    await withDiscardingTaskGroup { group in
      for scope in scopes {
        group.addTask { await self.listAndWatch(namespace: scope) }
      }
    }
  }

  /// True once every namespace's first list completed.
  public var hasSynced: Bool { state.withLock { $0.synced.count == scopes.count } }

  /// Waits until synced or `timeout` passes; returns ``hasSynced``.
  public func waitUntilSynced(timeout: Duration) async -> Bool {
    if hasSynced { return true }
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await self.synchronised() }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
    }
    return hasSynced
  }

  /// The cached Sandbox `namespace/name`.
  public func object(namespace: String, name: String) -> SandboxObject? {
    state.withLock { $0.cache.objects[SandboxCache.key(namespace: namespace, name: name)] }
  }

  /// The cached Sandboxes whose label `label` is `value`, by namespace and name: from the index
  /// when `label` is the configured ``Configuration/indexedLabel``, else by a scan.
  public func objects(label: String, value: String) -> [SandboxObject] {
    if label == configuration.indexedLabel, let indexed = state.withLock({ $0.cache.objects(labeled: value) }) {
      return indexed
    }
    return objects { $0.metadata.labels?[label] == value }
  }

  /// Every cached Sandbox, by namespace and name.
  public func objects() -> [SandboxObject] { objects { _ in true } }

  /// The cached Sandboxes for which `isIncluded` holds, by namespace and name. `isIncluded` runs
  /// under the cache's lock: keep it to a look at labels or annotations.
  public func objects(where isIncluded: (SandboxObject) -> Bool) -> [SandboxObject] {
    // Sorted by the dictionary's stored keys (`SandboxObject.key` builds a string per comparison),
    // outside the lock.
    state.withLock { $0.cache.objects.filter { isIncluded($0.value) } }.sorted { $0.key < $1.key }.map(\.value)
  }

  /// Read your own writes: an object the product just wrote (create/patch answer). Kept unless
  /// the cache already has a newer resourceVersion of it (compare as integers when both parse,
  /// else replace). An object outside the watched namespaces is ignored (nothing would keep it
  /// current).
  public func observe(_ object: SandboxObject) {
    guard let namespace = object.metadata.namespace, object.metadata.name != nil, isWatched(namespace) else {
      logger.debug("not caching an object outside the watched namespaces", metadata: ["sandbox": "\(object.key)"])
      return
    }
    state.withLock { state in
      if state.cache.upsert(object, now: .now) == .stale { state.statistics.staleEventsIgnored += 1 }
    }
  }

  /// Read your own writes for a delete: forgotten now (a later stale ADDED/MODIFIED with an older
  /// resourceVersion must not resurrect it; a genuinely newer one may).
  public func observeDeleted(namespace: String, name: String) {
    observeDeleted(namespace: namespace, name: name, resourceVersion: nil)
  }

  /// ``observeDeleted(namespace:name:)`` with the delete's resourceVersion, when the answer
  /// carried it: events up to it are stale as well.
  public func observeDeleted(namespace: String, name: String, resourceVersion: String?) {
    state.withLock { state in
      state.cache.forget(
        key: SandboxCache.key(namespace: namespace, name: name), resourceVersion: resourceVersion, now: .now)
    }
  }

  /// The object's current state (if cached) at once, then every change; `nil` when it is deleted.
  /// Register BEFORE creating the object so no event is missed. The stream ends when its consumer
  /// stops iterating (onTermination unregisters). A slow consumer loses intermediate states, never
  /// the latest (the newest 64 are buffered).
  public func changes(namespace: String, name: String) -> AsyncStream<SandboxObject?> {
    let key = SandboxCache.key(namespace: namespace, name: name)
    let (stream, continuation) = AsyncStream.makeStream(of: SandboxObject?.self, bufferingPolicy: .bufferingNewest(64))
    let id = state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    continuation.onTermination = { [weak self] _ in
      let removed = self?.state.withLock { $0.cache.unsubscribe(key, id: id) }
      _ = removed  // released here, outside the lock
    }
    state.withLock { $0.cache.subscribe(key, id: id, continuation) }
    return stream
  }

  /// Counters for tests and logs: lists made, watches started, re-lists after 410, reconnects
  /// after errors, events applied.
  public var statistics: Statistics { state.withLock { $0.statistics } }

  // MARK: Internals

  /// The resourceVersion the watch of `namespace` (`nil`: all) resumes from.
  func resumePoint(namespace: String?) -> String? { state.withLock { $0.resumePoints[namespace ?? ""] } }

  /// Subscribers registered through ``changes(namespace:name:)`` and not yet gone.
  var subscriberCount: Int { state.withLock { $0.cache.subscriberCount } }

  func isWatched(_ namespace: String) -> Bool { scopes.contains(nil) || scopes.contains(namespace) }

  /// Returns once synced (or cancelled).
  private func synchronised() async {
    let id = state.withLock { state in
      state.nextID += 1
      return state.nextID
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        let ready = state.withLock { state -> Bool in
          if state.synced.count == scopes.count || Task.isCancelled { return true }
          state.syncWaiters[id] = continuation
          return false
        }
        if ready { continuation.resume() }
      }
    } onCancel: {
      state.withLock { $0.syncWaiters.removeValue(forKey: id) }?.resume()
    }
  }
}
