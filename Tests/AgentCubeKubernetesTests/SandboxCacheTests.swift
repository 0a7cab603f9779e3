import Testing

@testable import AgentCubeKubernetes

/// Which state wins when watch events, lists and the product's own writes race (in memory).
@Suite struct SandboxCacheTests {
  static func object(_ name: String, uid: String = "u1", version: String?, note: String? = nil) -> SandboxObject {
    var object = InformerFixture.sandbox(name, annotations: note.map { ["note": $0] })
    object.metadata.uid = uid
    object.metadata.resourceVersion = version
    return object
  }

  let now = ContinuousClock.now

  @Test func olderStatesAreStaleAndUnparsableVersionsReplace() {
    var cache = SandboxCache()
    #expect(cache.upsert(Self.object("s1", version: "10"), now: now) == .applied)
    #expect(cache.upsert(Self.object("s1", version: "9", note: "old"), now: now) == .stale)
    #expect(cache.upsert(Self.object("s1", version: "10", note: "same revision"), now: now) == .unchanged)
    #expect(cache.upsert(Self.object("s1", version: "11", note: "new"), now: now) == .applied)
    #expect(cache.upsert(Self.object("s1", version: "opaque", note: "opaque"), now: now) == .applied)
    #expect(cache.objects["team-a/s1"]?.metadata.annotations?["note"] == "opaque")
  }

  @Test func aForgottenObjectStaysDeletedUntilTheWatchConfirms() {
    var cache = SandboxCache()
    _ = cache.upsert(Self.object("s1", version: "10"), now: now)
    cache.forget(key: "team-a/s1", resourceVersion: nil, now: now)
    #expect(cache.objects["team-a/s1"] == nil)
    // Same uid: a state from before the delete, whatever its version.
    #expect(cache.upsert(Self.object("s1", version: "11"), now: now) == .stale)
    // Another uid but older than what was known: an earlier incarnation.
    #expect(cache.upsert(Self.object("s1", uid: "u0", version: "5"), now: now) == .stale)
    // The DELETED of an earlier incarnation does not lift it; its own does.
    _ = cache.remove(Self.object("s1", uid: "u0", version: "6"))
    #expect(cache.tombstones["team-a/s1"] != nil)
    _ = cache.remove(Self.object("s1", version: "12"))
    #expect(cache.tombstones["team-a/s1"] == nil)
    // A re-creation is genuinely newer.
    #expect(cache.upsert(Self.object("s1", uid: "u2", version: "13"), now: now) == .applied)
  }

  @Test func aRecreationLiftsTheTombstoneAndTheOldDeleteDoesNotRemoveIt() {
    var cache = SandboxCache()
    _ = cache.upsert(Self.object("s1", version: "10"), now: now)
    cache.forget(key: "team-a/s1", resourceVersion: "12", now: now)
    #expect(cache.upsert(Self.object("s1", uid: "u2", version: "13"), now: now) == .applied)
    // The watch, behind, now reports the first object's delete: the newer one stays.
    #expect(cache.remove(Self.object("s1", version: "12")) == .stale)
    #expect(cache.objects["team-a/s1"]?.metadata.uid == "u2")
  }

  @Test func aTombstoneExpires() {
    var cache = SandboxCache()
    _ = cache.upsert(Self.object("s1", version: "10"), now: now)
    cache.forget(key: "team-a/s1", resourceVersion: nil, now: now)
    #expect(cache.upsert(Self.object("s1", version: "11"), now: now + .seconds(601)) == .applied)
  }

  @Test func aListReplacesItsScopeButKeepsLaterWritesAndHonoursTombstones() {
    var cache = SandboxCache()
    _ = cache.upsert(Self.object("gone", version: "5"), now: now)
    _ = cache.upsert(Self.object("written-after", version: "30"), now: now)
    _ = cache.upsert(Self.object("deleted", uid: "u9", version: "8"), now: now)
    var other = Self.object("elsewhere", version: "6")
    other.metadata.namespace = "team-b"
    _ = cache.upsert(other, now: now)
    cache.forget(key: "team-a/deleted", resourceVersion: nil, now: now)
    let changed = cache.replace(
      namespace: "team-a",
      with: [Self.object("new", version: "15"), Self.object("deleted", uid: "u9", version: "8")],
      resourceVersion: "20", now: now)
    #expect(changed == 2)  // "gone" removed, "new" added
    #expect(cache.objects.keys.sorted() == ["team-a/new", "team-a/written-after", "team-b/elsewhere"])
    // A list that no longer has it confirms the delete.
    _ = cache.replace(namespace: "team-a", with: [], resourceVersion: "40", now: now)
    #expect(cache.tombstones.isEmpty)
    #expect(cache.objects.keys.sorted() == ["team-b/elsewhere"])
  }

  @Test func theLabelIndexFollowsEveryChange() {
    func labelled(_ name: String, id: String?, uid: String = "u1", version: String) -> SandboxObject {
      var object = Self.object(name, uid: uid, version: version)
      object.metadata.labels?["sandbox-id"] = id
      return object
    }
    func names(_ cache: SandboxCache, _ id: String) -> [String] {
      (cache.objects(labeled: id) ?? []).compactMap(\.metadata.name)
    }
    #expect(SandboxCache().objects(labeled: "a") == nil, "no label indexed: no answer, not an empty one")
    var cache = SandboxCache(indexedLabel: "sandbox-id")
    _ = cache.upsert(labelled("s1", id: "a", version: "1"), now: now)
    _ = cache.upsert(labelled("s2", id: "b", version: "2"), now: now)
    #expect(names(cache, "a") == ["s1"] && names(cache, "b") == ["s2"])
    // A relabelled object moves; an unlabelled one leaves the index.
    _ = cache.upsert(labelled("s1", id: "b", version: "3"), now: now)
    #expect(names(cache, "a") == [] && names(cache, "b") == ["s1", "s2"])
    _ = cache.upsert(labelled("s2", id: nil, version: "4"), now: now)
    #expect(names(cache, "b") == ["s1"])
    // A stale state does not touch it.
    _ = cache.upsert(labelled("s1", id: "c", version: "2"), now: now)
    #expect(names(cache, "b") == ["s1"] && names(cache, "c") == [])
    // Deleted by the watch, forgotten by the product, dropped by a list: gone from the index too.
    _ = cache.upsert(labelled("s3", id: "d", version: "5"), now: now)
    _ = cache.remove(labelled("s3", id: "d", version: "6"))
    #expect(names(cache, "d") == [])
    cache.forget(key: "team-a/s1", resourceVersion: nil, now: now)
    #expect(names(cache, "b") == [])
    _ = cache.upsert(labelled("s4", id: "e", version: "7"), now: now)
    _ = cache.replace(namespace: nil, with: [labelled("s5", id: "e", version: "8")], resourceVersion: "8", now: now)
    #expect(names(cache, "e") == ["s5"])
  }
}
