import Synchronization

/// Where an object lives.
struct ObjectKey: Sendable, Hashable, Comparable {
  /// The plural resource (`sandboxes`, `pods`).
  var resource: String
  var namespace: String
  var name: String

  /// etcd's key order within a resource: namespace, then name.
  static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
    (lhs.resource, lhs.namespace, lhs.name) < (rhs.resource, rhs.namespace, rhs.name)
  }

  /// The key's part a continue token carries (`namespace/name`).
  var position: String { "\(namespace)/\(name)" }
}

/// The kind of a change, as watch events name it.
enum WatchEventType: String, Sendable {
  case added = "ADDED"
  case modified = "MODIFIED"
  case deleted = "DELETED"
}

/// What one watch stream delivers.
enum WatchMessage: Sendable {
  case event(WatchEventType, JSONValue)
  /// A BOOKMARK at this resourceVersion.
  case bookmark(Int)
  /// An ERROR event (then the stream ends).
  case error(KubeStatus)
  /// Drop the connection without ending the body.
  case cut
}

/// Which objects a watch or list sees.
struct ObjectFilter: Sendable {
  var resource: String
  /// `nil`: every namespace.
  var namespace: String?
  var labels: LabelSelector = .everything
  var fields: FieldSelector = .everything

  func matches(_ key: ObjectKey, _ object: JSONValue) -> Bool {
    key.resource == resource && (namespace == nil || key.namespace == namespace)
      && labels.matches(object["metadata"]["labels"].stringMap ?? [:]) && fields.matches(object)
  }
}

/// The emulated etcd: objects by key, one global revision counter (every write gets the next
/// `metadata.resourceVersion`), the history since the compaction point (for watches from a
/// resourceVersion and consistent paged lists), and the open watches (thread-safe).
///
/// Watch delivery happens under the lock, so every watch sees events in revision order and a
/// bookmark never overtakes an event.
final class ObjectStore: Sendable {
  struct Event: Sendable {
    var revision: Int
    var type: WatchEventType
    var key: ObjectKey
    var object: JSONValue
    var previous: JSONValue?
  }

  private struct Watcher {
    var filter: ObjectFilter
    var bookmarks: Bool
    var continuation: AsyncStream<WatchMessage>.Continuation
  }

  private struct State {
    var revision = 1
    var compacted = 1
    var base: [ObjectKey: JSONValue] = [:]
    var log: [Event] = []
    var current: [ObjectKey: JSONValue] = [:]
    var watchers: [Int: Watcher] = [:]
    var nextWatcher = 0
    var closed = false
  }

  /// History kept before the store compacts by itself (as etcd's periodic compaction would).
  static let historyLimit = 20_000

  private let state = Mutex(State())
  /// Keys of changed objects, for the controller.
  let changes: AsyncStream<ObjectKey>
  private let changesContinuation: AsyncStream<ObjectKey>.Continuation

  init() {
    (changes, changesContinuation) = AsyncStream.makeStream(of: ObjectKey.self)
  }

  // MARK: Reads

  var revision: Int { state.withLock { $0.revision } }
  var compactedRevision: Int { state.withLock { $0.compacted } }

  func get(_ key: ObjectKey) -> JSONValue? { state.withLock { $0.current[key] } }

  /// The names of the current objects of `resource` in `namespace`, sorted.
  func names(resource: String, namespace: String) -> [String] {
    state.withLock { state in
      state.current.keys.filter { $0.resource == resource && $0.namespace == namespace }.map(\.name).sorted()
    }
  }

  /// The objects `filter` selects as of `revision` (`nil`: now), in key order after `start`:
  /// at most `limit`, whether more follow, and the revision read; `nil` when `revision` is compacted.
  func list(
    _ filter: ObjectFilter, at revision: Int? = nil, after start: String? = nil, limit: Int? = nil
  ) -> (items: [JSONValue], revision: Int, more: Bool, remaining: Int)? {
    state.withLock { state in
      let read = revision ?? state.revision
      guard let snapshot = Self.snapshot(state, at: read) else { return nil }
      var selected = snapshot.filter { filter.matches($0.key, $0.value) }.sorted { $0.key < $1.key }
      if let start { selected.removeAll { $0.key.position <= start } }
      guard let limit, limit > 0, selected.count > limit else {
        return (selected.map(\.value), read, false, 0)
      }
      return (selected.prefix(limit).map(\.value), read, true, selected.count - limit)
    }
  }

  private static func snapshot(_ state: State, at revision: Int) -> [ObjectKey: JSONValue]? {
    guard revision >= state.compacted else { return nil }
    if revision >= state.revision { return state.current }
    var objects = state.base
    for event in state.log where event.revision <= revision {
      if event.type == .deleted { objects.removeValue(forKey: event.key) } else { objects[event.key] = event.object }
    }
    return objects
  }

  // MARK: Writes

  /// Creates `object` at `key` with the next resourceVersion; `nil` when the key is taken.
  func create(_ key: ObjectKey, _ object: JSONValue) -> JSONValue? {
    state.withLock { state in
      guard state.current[key] == nil else { return nil }
      return commit(&state, .added, key, object, previous: nil)
    }
  }

  /// Replaces the object at `key` with what `change` makes of it (it sees `nil` when there is none
  /// and throws or returns `nil` to leave things as they are). A result equal to the stored object
  /// (resourceVersion aside) is no write, as in kube. Returns the object stored afterwards.
  func update(_ key: ObjectKey, _ change: (JSONValue?) throws -> JSONValue?) throws -> JSONValue? {
    try state.withLock { state in
      let stored = state.current[key]
      guard let changed = try change(stored) else { return stored }
      if let stored, Self.sameContent(stored, changed) { return stored }
      return commit(&state, stored == nil ? .added : .modified, key, changed, previous: stored)
    }
  }

  /// Deletes the object at `key` once `check` accepts it (it sees `nil` when there is none and may
  /// throw); the deleted object carries the delete's resourceVersion, as its DELETED event does.
  func delete(_ key: ObjectKey, _ check: (JSONValue?) throws -> Void = { _ in }) throws -> JSONValue? {
    try state.withLock { state in
      let stored = state.current[key]
      try check(stored)
      guard let stored else { return nil }
      return commit(&state, .deleted, key, stored, previous: stored)
    }
  }

  private static func sameContent(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    var left = lhs
    var right = rhs
    left["metadata"]["resourceVersion"] = nil
    right["metadata"]["resourceVersion"] = nil
    return left == right
  }

  private func commit(
    _ state: inout State, _ type: WatchEventType, _ key: ObjectKey, _ object: JSONValue, previous: JSONValue?
  ) -> JSONValue {
    state.revision += 1
    var stored = object
    stored["metadata"]["resourceVersion"] = .string(String(state.revision))
    if type == .deleted { state.current.removeValue(forKey: key) } else { state.current[key] = stored }
    let event = Event(revision: state.revision, type: type, key: key, object: stored, previous: previous)
    state.log.append(event)
    if state.log.count > Self.historyLimit { Self.compact(&state, to: state.log[state.log.count / 2].revision) }
    for watcher in state.watchers.values {
      if let message = Self.message(for: event, filter: watcher.filter) { watcher.continuation.yield(message) }
    }
    changesContinuation.yield(key)
    return stored
  }

  /// What a watch with `filter` sees of `event`: an object that starts or stops matching is ADDED
  /// or DELETED for it, as kube's watch cache reports it.
  private static func message(for event: Event, filter: ObjectFilter) -> WatchMessage? {
    let now = event.type != .deleted && filter.matches(event.key, event.object)
    let before = event.previous.map { filter.matches(event.key, $0) } ?? false
    switch (before, now) {
    case (false, false): return nil
    case (false, true): return .event(.added, event.object)
    case (true, true): return .event(.modified, event.object)
    case (true, false): return .event(.deleted, event.object)
    }
  }

  // MARK: Compaction

  /// Forgets the history up to now: watches and continue tokens from an older resourceVersion get
  /// 410 from now on. Returns the compaction point.
  @discardableResult
  func compact() -> Int {
    state.withLock { state in
      Self.compact(&state, to: state.revision)
      return state.compacted
    }
  }

  private static func compact(_ state: inout State, to revision: Int) {
    guard revision > state.compacted else { return }
    for event in state.log where event.revision <= revision {
      if event.type == .deleted { state.base.removeValue(forKey: event.key) } else { state.base[event.key] = event.object }
    }
    state.log.removeAll { $0.revision <= revision }
    state.compacted = revision
  }

  // MARK: Watches

  /// Opens a watch: from `revision` (`nil`: the current state as ADDED events first, kube's
  /// "get state and start at most recent"), then every change `filter` selects. A compacted
  /// `revision` yields one 410 ERROR and ends.
  func watch(_ filter: ObjectFilter, from revision: Int?, bookmarks: Bool) -> (id: Int, messages: AsyncStream<WatchMessage>) {
    let (stream, continuation) = AsyncStream.makeStream(of: WatchMessage.self)
    let id: Int? = state.withLock { state in
      if state.closed { return nil }
      if let revision {
        guard revision >= state.compacted else {
          continuation.yield(.error(.expired("too old resource version: \(revision) (\(state.compacted))")))
          return nil
        }
        for event in state.log where event.revision > revision {
          if let message = Self.message(for: event, filter: filter) { continuation.yield(message) }
        }
      } else {
        for (key, object) in state.current.sorted(by: { $0.key < $1.key }) where filter.matches(key, object) {
          continuation.yield(.event(.added, object))
        }
      }
      state.nextWatcher += 1
      state.watchers[state.nextWatcher] = Watcher(filter: filter, bookmarks: bookmarks, continuation: continuation)
      return state.nextWatcher
    }
    guard let id else {
      continuation.finish()
      return (0, stream)
    }
    continuation.onTermination = { [weak self] _ in self?.forget(id) }
    return (id, stream)
  }

  private func forget(_ id: Int) {
    _ = state.withLock { $0.watchers.removeValue(forKey: id) }
  }

  /// Sends a BOOKMARK at the current revision to watch `id` (every watch asking for bookmarks when `nil`).
  func bookmark(_ id: Int? = nil) {
    state.withLock { state in
      for (watcherID, watcher) in state.watchers where watcher.bookmarks && (id == nil || id == watcherID) {
        watcher.continuation.yield(.bookmark(state.revision))
      }
    }
  }

  /// Ends watch `id` cleanly (its timeout).
  func end(_ id: Int) {
    let watcher = state.withLock { $0.watchers.removeValue(forKey: id) }
    watcher?.continuation.finish()
  }

  /// Drops every open watch's connection mid-stream; returns how many.
  @discardableResult
  func cutWatches() -> Int {
    let watchers = state.withLock { state in
      defer { state.watchers = [:] }
      return Array(state.watchers.values)
    }
    for watcher in watchers {
      watcher.continuation.yield(.cut)
      watcher.continuation.finish()
    }
    return watchers.count
  }

  /// Open watches now.
  var watchCount: Int { state.withLock { $0.watchers.count } }

  /// Ends every watch and refuses new ones (the emulator stops).
  func close() {
    state.withLock { $0.closed = true }
    cutWatches()
    changesContinuation.finish()
  }
}
