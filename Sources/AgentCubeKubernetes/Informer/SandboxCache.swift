/// The informer's view of the Sandboxes: objects by `namespace/name`, what the product itself has
/// just deleted, and the subscribers to changes of one object. A value (kept in the informer's
/// `Mutex`): every rule about which state wins lives here and is testable without a server.
///
/// The rules, since watch events and the product's own writes race:
/// - A state older than the cached one (both resourceVersions integers, as every kube and etcd
///   gives them) is stale and ignored, one of the same resourceVersion is the same state;
///   unparsable versions compare as "newer" (replace).
/// - A delete the product made leaves a tombstone: later ADDED/MODIFIED of the same object (same
///   uid, or not newer than its last known resourceVersion) are stale; the watch's DELETED of it,
///   or a list without it, lifts the tombstone; a new object of that name (another uid, newer) is
///   genuinely newer and lifts it too.
/// - A list replaces its scope, keeping objects written after the list's snapshot.
///
/// Objects may be indexed by the value of one label (`sandbox-id` for the backend), so finding a
/// session by id does not scan every object.
struct SandboxCache {
  struct Tombstone {
    var uid: String?
    var resourceVersion: String?
    var since: ContinuousClock.Instant
  }

  /// What an update did.
  enum Outcome: Equatable {
    case applied
    case unchanged
    case stale
  }

  typealias Subscriber = AsyncStream<SandboxObject?>.Continuation

  /// How long a tombstone waits for the watch to confirm the delete.
  static let tombstoneLifetime: Duration = .seconds(600)

  private(set) var objects: [String: SandboxObject] = [:]
  private(set) var tombstones: [String: Tombstone] = [:]
  private var subscribers: [String: [UInt64: Subscriber]] = [:]
  /// The label whose values ``byLabelValue`` indexes; `nil`: no index.
  let indexedLabel: String?
  /// Keys of the objects by their value of ``indexedLabel``.
  private var byLabelValue: [String: Set<String>] = [:]

  init(indexedLabel: String? = nil) { self.indexedLabel = indexedLabel }

  /// The objects whose ``indexedLabel`` is `value`, by key; `nil` when no label is indexed.
  func objects(labeled value: String) -> [SandboxObject]? {
    guard indexedLabel != nil else { return nil }
    return (byLabelValue[value] ?? []).sorted().compactMap { objects[$0] }
  }

  /// Every change of ``objects`` goes through here, which keeps the index with it.
  private mutating func set(_ key: String, _ object: SandboxObject?) {
    let old: SandboxObject?
    if let object { old = objects.updateValue(object, forKey: key) } else { old = objects.removeValue(forKey: key) }
    guard let indexedLabel else { return }
    let oldValue = old?.metadata.labels?[indexedLabel]
    let newValue = object?.metadata.labels?[indexedLabel]
    guard oldValue != newValue else { return }
    if let oldValue {
      byLabelValue[oldValue]?.remove(key)
      if byLabelValue[oldValue]?.isEmpty == true { byLabelValue.removeValue(forKey: oldValue) }
    }
    if let newValue { byLabelValue[newValue, default: []].insert(key) }
  }

  static func key(namespace: String, name: String) -> String { "\(namespace)/\(name)" }

  /// How resourceVersion `a` stands to `b`, as integers; `nil` unless both parse.
  static func order(_ a: String?, _ b: String?) -> Ordering? {
    guard let a, let b, let left = UInt64(a), let right = UInt64(b) else { return nil }
    return left < right ? .older : left == right ? .same : .newer
  }

  enum Ordering { case older, same, newer }

  // MARK: Subscribers

  mutating func subscribe(_ key: String, id: UInt64, _ subscriber: Subscriber) {
    subscribers[key, default: [:]][id] = subscriber
    if let object = objects[key] { subscriber.yield(object) }
  }

  /// The removed subscriber, to be released outside the lock.
  mutating func unsubscribe(_ key: String, id: UInt64) -> Subscriber? {
    let removed = subscribers[key]?.removeValue(forKey: id)
    if subscribers[key]?.isEmpty == true { subscribers.removeValue(forKey: key) }
    return removed
  }

  var subscriberCount: Int { subscribers.values.reduce(0) { $0 + $1.count } }

  private func notify(_ key: String, _ object: SandboxObject?) {
    for subscriber in subscribers[key]?.values ?? [:].values { subscriber.yield(object) }
  }

  // MARK: Updates

  /// A state of an object: an ADDED/MODIFIED event or the product's own write.
  mutating func upsert(_ object: SandboxObject, now: ContinuousClock.Instant) -> Outcome {
    let key = object.key
    if let tombstone = tombstones[key] {
      guard Self.isNewer(object, than: tombstone, now: now) else { return .stale }
      tombstones.removeValue(forKey: key)
    }
    if let cached = objects[key] {
      switch Self.order(object.metadata.resourceVersion, cached.metadata.resourceVersion) {
      case .older?: return .stale
      case .same?: return .unchanged  // one revision: the same state (the watch confirming a write)
      case .newer?, nil: if cached == object { return .unchanged }
      }
    }
    set(key, object)
    notify(key, object)
    return .applied
  }

  /// A DELETED event: `object` is the last state, with the delete's resourceVersion.
  mutating func remove(_ object: SandboxObject) -> Outcome {
    let key = object.key
    if let tombstone = tombstones[key], tombstone.uid == nil || tombstone.uid == object.metadata.uid {
      tombstones.removeValue(forKey: key)  // the watch has caught up with the product's delete
    }
    guard let cached = objects[key] else { return .unchanged }
    if cached.metadata.uid != object.metadata.uid,
      Self.order(object.metadata.resourceVersion, cached.metadata.resourceVersion) == .older
    {
      return .stale  // a newer object of that name is cached (the product re-created it)
    }
    set(key, nil)
    notify(key, nil)
    return .applied
  }

  /// The product deleted the object: forgotten now, and kept from coming back by stale events.
  /// `resourceVersion`: the delete's, if known.
  mutating func forget(key: String, resourceVersion: String?, now: ContinuousClock.Instant) {
    let cached = objects[key]
    set(key, nil)
    var version = cached?.metadata.resourceVersion
    if let resourceVersion, Self.order(resourceVersion, version) != .older { version = resourceVersion }
    tombstones[key] = Tombstone(uid: cached?.metadata.uid, resourceVersion: version, since: now)
    if cached != nil { notify(key, nil) }
    expireTombstones(now: now)
  }

  /// A complete list of the objects in `namespace` (`nil`: all) as of `resourceVersion`.
  /// Returns how many objects changed.
  mutating func replace(
    namespace: String?, with items: [SandboxObject], resourceVersion: String?, now: ContinuousClock.Instant
  ) -> Int {
    var changed = 0
    let listed = Dictionary(items.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
    for (key, cached) in objects where Self.inScope(key, namespace) && listed[key] == nil {
      // Written (and observed) after the list's snapshot: the list cannot know it yet.
      if Self.order(cached.metadata.resourceVersion, resourceVersion) == .newer { continue }
      set(key, nil)
      notify(key, nil)
      changed += 1
    }
    for key in tombstones.keys where Self.inScope(key, namespace) && listed[key] == nil {
      tombstones.removeValue(forKey: key)  // the list confirms the delete
    }
    for item in items where upsert(item, now: now) == .applied { changed += 1 }
    expireTombstones(now: now)
    return changed
  }

  private static func inScope(_ key: String, _ namespace: String?) -> Bool {
    guard let namespace else { return true }
    return key.hasPrefix(namespace + "/")
  }

  /// Whether `object` comes after the delete `tombstone` records.
  private static func isNewer(_ object: SandboxObject, than tombstone: Tombstone, now: ContinuousClock.Instant) -> Bool
  {
    if now - tombstone.since > tombstoneLifetime { return true }
    if let uid = tombstone.uid, uid == object.metadata.uid { return false }
    switch order(object.metadata.resourceVersion, tombstone.resourceVersion) {
    case .older?, .same?: return false
    case .newer?: return true
    // Nothing to compare: another uid is another object; no uid known either, a state before the delete.
    case nil: return tombstone.uid != nil && object.metadata.uid != nil
    }
  }

  private mutating func expireTombstones(now: ContinuousClock.Instant) {
    tombstones = tombstones.filter { now - $0.value.since <= Self.tombstoneLifetime }
  }
}
