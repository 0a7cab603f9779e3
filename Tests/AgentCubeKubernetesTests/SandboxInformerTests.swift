import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

@testable import AgentCubeKubernetes

/// The informer through the real libcurl client over HTTPS against the emulator: paged lists,
/// watch events, cut and expired watches, bookmarks, timeouts, outages, namespaces, the product's
/// own writes racing stale events, and over-long events.
@Suite("SandboxInformer", .timeLimit(.minutes(10)))
struct SandboxInformerTests {
  typealias F = InformerFixture

  private static func names(_ informer: SandboxInformer) -> [String] { informer.objects().map(\.key) }

  @Test func theFirstListIsPagedAndSelectsByLabel() async throws {
    try await F.with { f in
      for index in 1...5 { try await f.create("s\(index)") }
      try await f.create("unmanaged", labels: ["managed-by": "someone-else"])
      f.emulator.resetCounters()
      try await f.withInformer(F.configuration(pageSize: 2)) { informer in
        #expect(informer.hasSynced)
        #expect(Self.names(informer) == (1...5).map { "team-a/s\($0)" })
        let statistics = informer.statistics
        #expect(statistics.listPages == 3 && statistics.lists == 1, "\(statistics)")
        #expect(f.emulator.count(of: .sandboxesList) == 3)
        #expect(informer.object(namespace: "team-a", name: "s3")?.metadata.labels?["managed-by"] == "agentcube")
        #expect(informer.resumePoint(namespace: nil) == String(f.emulator.resourceVersion))
      }
    }
  }

  @Test func watchEventsReachTheCacheAndTheChangeStreams() async throws {
    try await F.with { f in
      try await f.withInformer { informer in
        let recorder = StreamRecorder(informer.changes(namespace: "team-a", name: "s1"))
        let created = try await f.create("s1")
        let updated = try await f.update(created) { $0.metadata.annotations = ["note": "changed"] }
        try await eventually("the update to be cached") {
          informer.object(namespace: "team-a", name: "s1")?.metadata.annotations?["note"] == "changed"
        }
        let deleted = try await f.delete("s1")
        try await eventually("the delete to be seen") { recorder.recorded.count == 3 }
        #expect(informer.object(namespace: "team-a", name: "s1") == nil)
        let versions = recorder.recorded.map { $0?.metadata.resourceVersion }
        #expect(versions == [created.metadata.resourceVersion, updated.metadata.resourceVersion, nil], "\(versions)")
        #expect(Int(deleted.metadata.resourceVersion ?? "") ?? 0 > Int(updated.metadata.resourceVersion ?? "") ?? 0)
        #expect(informer.statistics.eventsApplied == 3)
        // A consumer that stops iterating is unregistered.
        #expect(informer.subscriberCount == 1)
        await recorder.stop()
        try await eventually("the subscriber to be gone") { informer.subscriberCount == 0 }
        // A change stream starts with the cached state.
        let present = try await f.create("s2")
        try await eventually("s2 to be cached") {
          informer.object(namespace: "team-a", name: "s2") != nil
        }
        var iterator = informer.changes(namespace: "team-a", name: "s2").makeAsyncIterator()
        let first = await iterator.next()
        #expect(first??.metadata.uid == present.metadata.uid)
      }
    }
  }

  @Test func aCutWatchResumesFromTheLastResourceVersionWithoutMissingADelete() async throws {
    try await F.with { f in
      try await f.create("s1")
      let s2 = try await f.create("s2")
      try await f.withInformer { informer in
        try await f.holdWatches(informer)
        // Changes while no watch is open: the resumed watch replays them from its resourceVersion.
        try await f.delete("s1")
        try await f.update(s2) { $0.metadata.annotations = ["while": "cut"] }
        f.release()
        try await eventually("the missed changes to arrive") {
          Self.names(informer) == ["team-a/s2"]
            && informer.object(namespace: "team-a", name: "s2")?.metadata.annotations?["while"] == "cut"
        }
        let statistics = informer.statistics
        #expect(statistics.lists == 1 && statistics.relistsAfterExpiry == 0, "resumed, not listed again: \(statistics)")
        #expect(statistics.watches >= 2)
      }
    }
  }

  @Test func anExpiredResourceVersionLeadsToAListWithNoMissedDeleteAndNoGhost() async throws {
    try await F.with { f in
      try await f.create("s1")
      let s2 = try await f.create("s2")
      try await f.withInformer { informer in
        try await f.holdWatches(informer)
        try await f.delete("s1")
        try await f.create("s3")
        try await f.update(s2) { $0.metadata.annotations = ["after": "compaction"] }
        f.emulator.compact()
        f.release()
        try await eventually("the list after 410 to replace the cache") {
          informer.statistics.relistsAfterExpiry == 1
        }
        try await eventually("the cache to match the server") {
          Self.names(informer) == ["team-a/s2", "team-a/s3"]
            && informer.object(namespace: "team-a", name: "s2")?.metadata.annotations?["after"] == "compaction"
        }
        #expect(informer.statistics.lists == 2)
        // Watching again from the new list works.
        try await f.create("s4")
        try await eventually("s4 to be cached") {
          informer.object(namespace: "team-a", name: "s4") != nil
        }
      }
    }
  }

  @Test func watchLinesSplitAcrossChunksAreReassembled() async throws {
    try await F.with(configure: { $0.watch.splitChunks = true }) { f in
      try await f.withInformer { informer in
        var written: [SandboxObject] = []
        for index in 1...3 {
          let note = String(repeating: "é\"\\\n\u{1F600}x", count: 40 * index)
          written.append(
            try await f.create(F.sandbox("s\(index)", annotations: ["note": note, "index": "\(index)"])))
        }
        try await eventually("every event to be reassembled") { informer.objects().count == 3 }
        #expect(informer.objects() == written)
        #expect(informer.statistics.reconnects == 0)
      }
    }
  }

  @Test func bookmarksAdvanceTheResumePoint() async throws {
    try await F.with { f in
      try await f.withInformer { informer in
        let listed = try #require(informer.resumePoint(namespace: nil))
        // Writes the informer's selector does not see: only a bookmark tells it how far it is.
        for index in 1...3 { try await f.create("other\(index)", labels: ["managed-by": "someone-else"]) }
        f.emulator.sendBookmarks()
        let latest = String(f.emulator.resourceVersion)
        try await eventually("the bookmark to move the resume point") {
          informer.resumePoint(namespace: nil) == latest
        }
        #expect(latest != listed)
        #expect(informer.statistics.bookmarks >= 1)
        // History up to now is gone: a watch from the list's version would get 410, from the
        // bookmark's it does not.
        try await f.holdWatches(informer)
        f.emulator.compact()
        f.release()
        try await f.create("s1")
        try await eventually("s1 to arrive on the resumed watch") {
          informer.object(namespace: "team-a", name: "s1") != nil
        }
        let statistics = informer.statistics
        #expect(statistics.relistsAfterExpiry == 0 && statistics.lists == 1, "\(statistics)")
      }
    }
  }

  @Test func aWatchEndsCleanlyAfterTimeoutSecondsAndIsResumed() async throws {
    try await F.with { f in
      try await f.withInformer(F.configuration(watchTimeoutSeconds: 1)) { informer in
        try await eventually("two watches to time out") { informer.statistics.watchTimeouts >= 2 }
        try await f.create("s1")
        try await eventually("s1 to be cached") {
          informer.object(namespace: "team-a", name: "s1") != nil
        }
        let statistics = informer.statistics
        #expect(statistics.reconnects == 0 && statistics.lists == 1, "\(statistics)")
        #expect(statistics.watches >= 3)
      }
    }
  }

  @Test func anAPIOutageIsRiddenOutWithoutARestart() async throws {
    try await F.with { f in
      try await f.create("s0")
      await f.emulator.refuseConnections()
      try await f.withInformer(synced: false) { informer in
        #expect(await informer.waitUntilSynced(timeout: .milliseconds(300)) == false)
        try await eventually("the informer to retry") { informer.statistics.reconnects >= 2 }
        try await f.emulator.acceptConnections()
        #expect(await informer.waitUntilSynced(timeout: .seconds(10)))
        #expect(Self.names(informer) == ["team-a/s0"])
        // Down again, with a watch open this time.
        await f.emulator.refuseConnections()
        let reconnects = informer.statistics.reconnects
        try await eventually("the informer to retry") { informer.statistics.reconnects >= reconnects + 2 }
        try await f.emulator.acceptConnections()
        try await f.create("s1")
        try await eventually("s1 to be cached after the outage") {
          informer.object(namespace: "team-a", name: "s1") != nil
        }
      }
    }
  }

  @Test func onlyTheGivenNamespacesAreListedAndWatched() async throws {
    try await F.with { f in
      for namespace in ["team-a", "team-b", "team-c"] { try await f.create("before", namespace: namespace) }
      let configuration = F.configuration(namespaces: ["team-a", "team-b", "team-a"])
      try await f.withInformer(configuration, token: F.namespacedServer.token) { informer in
        #expect(Self.names(informer) == ["team-a/before", "team-b/before"])
        for namespace in ["team-c", "team-a", "team-b"] { try await f.create("after", namespace: namespace) }
        try await eventually("both namespaces' watches to deliver") {
          Self.names(informer) == ["team-a/after", "team-a/before", "team-b/after", "team-b/before"]
        }
        // The product's own write outside the watched namespaces is not cached.
        let outside = try await f.create("written", namespace: "team-c")
        informer.observe(outside)
        #expect(informer.object(namespace: "team-c", name: "written") == nil)
        #expect(informer.statistics.lists == 2)
      }
      let requests = f.emulator.requests(by: F.namespacedServer.user.username)
      #expect(!requests.isEmpty)
      for request in requests {
        #expect(["team-a", "team-b"].contains(request.attributes?.namespace ?? "cluster"), "\(request)")
        #expect(["list", "watch"].contains(request.attributes?.verb ?? ""), "\(request)")
        #expect(request.status == 200, "\(request)")
      }
    }
  }

  @Test func observedWritesAreNotRolledBackByStaleEvents() async throws {
    try await F.with { f in
      let created = try await f.create("s1")
      try await f.withInformer { informer in
        let recorder = StreamRecorder(informer.changes(namespace: "team-a", name: "s1"))
        try await f.holdWatches(informer)
        let first = try await f.update(created) { $0.metadata.annotations = ["step": "1"] }
        let second = try await f.update(first) { $0.metadata.annotations = ["step": "2"] }
        // The creator sees its write at once.
        informer.observe(second)
        #expect(informer.object(namespace: "team-a", name: "s1") == second)
        // An older answer (a slow request's) does not replace it either.
        informer.observe(first)
        #expect(informer.object(namespace: "team-a", name: "s1") == second)
        f.release()
        let latest = try #require(second.metadata.resourceVersion)
        try await eventually("the watch to catch up") { informer.resumePoint(namespace: nil) == latest }
        #expect(informer.object(namespace: "team-a", name: "s1") == second)
        #expect(informer.statistics.staleEventsIgnored >= 2)
        await recorder.stop()
        let steps = recorder.recorded.map { $0?.metadata.annotations?["step"] }
        #expect(steps == [nil, "2"], "never back to step 1: \(steps)")
      }
    }
  }

  @Test func anObservedDeleteIsNotResurrectedByAStaleModified() async throws {
    try await F.with { f in
      let created = try await f.create("s1")
      try await f.withInformer { informer in
        let recorder = StreamRecorder(informer.changes(namespace: "team-a", name: "s1"))
        try await f.holdWatches(informer)
        try await f.update(created) { $0.metadata.annotations = ["step": "1"] }
        let deleted = try await f.delete("s1")
        informer.observeDeleted(namespace: "team-a", name: "s1")
        #expect(informer.object(namespace: "team-a", name: "s1") == nil)
        f.release()
        let latest = try #require(deleted.metadata.resourceVersion)
        try await eventually("the watch to catch up") { informer.resumePoint(namespace: nil) == latest }
        #expect(informer.object(namespace: "team-a", name: "s1") == nil)
        #expect(informer.statistics.staleEventsIgnored >= 1)
        // A new object of the same name is genuinely newer.
        let again = try await f.create("s1")
        try await eventually("the new s1 to be cached") {
          informer.object(namespace: "team-a", name: "s1")?.metadata.uid == again.metadata.uid
        }
        await recorder.stop()
        let states = recorder.recorded.map { $0.map { $0.metadata.uid ?? "?" } ?? "deleted" }
        #expect(states == [created.metadata.uid, "deleted", again.metadata.uid], "no resurrection: \(states)")
      }
    }
  }

  @Test func anOverlongWatchEventIsAnErrorThatLeadsToAList() async throws {
    try await F.with { f in
      try await f.withInformer(F.configuration(maxEventBytes: 4096)) { informer in
        let big = try await f.create(F.sandbox("big", annotations: ["blob": String(repeating: "x", count: 8192)]))
        try await eventually("the list after the error to bring it") {
          let cached = informer.object(namespace: "team-a", name: "big")
          return cached?.metadata.resourceVersion == big.metadata.resourceVersion
            && cached?.metadata.annotations?["blob"]?.count == 8192
        }
        let statistics = informer.statistics
        #expect(statistics.reconnects >= 1 && statistics.lists == 2, "\(statistics)")
        // And the watch works again afterwards.
        try await f.create("small")
        try await eventually("small to be cached") {
          informer.object(namespace: "team-a", name: "small") != nil
        }
      }
    }
  }

  @Test func thev1alpha1VersionIsReadWhenConfigured() async throws {
    try await F.with(configure: { $0.sandboxes.servedVersions = [.v1alpha1, .v1beta1] }) { f in
      try await f.create("s1")
      var configuration = F.configuration()
      configuration.version = .v1alpha1
      try await f.withInformer(configuration) { informer in
        let cached = try #require(informer.object(namespace: "team-a", name: "s1"))
        #expect(cached.apiVersion == "agents.x-k8s.io/v1alpha1" && cached.spec.replicas == 1, "\(cached)")
        try await f.create("s2")
        try await eventually("s2 to be cached") {
          informer.object(namespace: "team-a", name: "s2")?.apiVersion == "agents.x-k8s.io/v1alpha1"
        }
      }
      #expect(
        f.emulator.requests(by: F.server.user.username).allSatisfy {
          $0.path.hasPrefix("/apis/agents.x-k8s.io/v1alpha1/")
        })
    }
  }

  @Test func aForbiddenListIsRetriedNotThrownUntilRBACAllowsIt() async throws {
    try await F.with { f in
      try await f.create("s1")
      let record = TokenRecord(
        token: "informer-late-rbac-0004",
        user: .serviceAccount(namespace: "agentcube-system", name: "late", uid: "uid-late"))
      f.emulator.tokens.add(record)
      try await f.withInformer(token: record.token, synced: false) { informer in
        #expect(await informer.waitUntilSynced(timeout: .milliseconds(300)) == false)
        try await eventually("the informer to retry") { informer.statistics.reconnects >= 2 }
        var granted = record
        granted.permissions = F.server.permissions
        f.emulator.tokens.add(granted)
        #expect(await informer.waitUntilSynced(timeout: .seconds(10)))
        #expect(Self.names(informer) == ["team-a/s1"])
      }
      let statuses = Set(f.emulator.requests(by: record.user.username).compactMap(\.status))
      #expect(statuses == [403, 200])
    }
  }
}
