import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// Watches through a streaming curl: events, bookmarks, timeouts, 410 after compaction, cut streams,
/// split chunks.
@Suite("KubernetesEmulator: watches")
struct WatchTests {
  typealias F = EmulatorFixture

  private static func types(_ lines: [[String: Any]]) -> [String] { lines.map { $0["type"] as? String ?? "?" } }
  private static func version(_ line: [String: Any]) -> Int {
    Int(((line["object"] as? [String: Any])?["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? "") ?? 0
  }

  @Test func eventsFromAListsResourceVersionWithBookmarks() async throws {
    try await F.with(tokens: [F.admin], configure: SandboxAPITests.apiOnly) { f in
      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("before"))
      let list = try await f.request(F.sandboxes, method: "GET", bearer: F.admin.token)
      let watch = try f.stream(
        // A timeout no busy machine reaches before the events: the clean end is tested on its own.
        F.sandboxes + "?watch=1&resourceVersion=\(list.resourceVersion)&allowWatchBookmarks=true&timeoutSeconds=120",
        bearer: F.admin.token)
      try await eventually("the watch to open") { f.emulator.openWatches == 1 }
      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1"))
      _ = try await f.request(
        F.sandboxes + "/s1", method: "PATCH", bearer: F.admin.token, body: #"{"metadata":{"labels":{"a":"b"}}}"#,
        contentType: "application/merge-patch+json")
      _ = try await f.request(F.sandboxes + "/s1", method: "DELETE", bearer: F.admin.token)
      _ = try await F.lines(of: watch, count: 3)
      f.emulator.sendBookmarks()
      let lines = try await F.lines(of: watch, count: 4)
      #expect(Self.types(lines) == ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"], "\(watch.stdout)")
      try #require(lines.count == 4)
      let versions = lines.map(Self.version)
      #expect(versions[0] > Int(list.resourceVersion)! && versions[0] < versions[1] && versions[1] < versions[2], "\(versions)")
      // The bookmark carries the latest revision: here the delete's.
      #expect(versions[3] == versions[2] && versions[3] == f.emulator.resourceVersion)
      let bookmark = try #require(lines[3]["object"] as? [String: Any])
      #expect(bookmark["kind"] as? String == "Sandbox" && bookmark["apiVersion"] as? String == "agents.x-k8s.io/v1beta1")
      _ = try await watch.kill()
    }
  }

  @Test func timeoutSecondsEndsTheStreamCleanly() async throws {
    try await F.with(tokens: [F.admin], configure: SandboxAPITests.apiOnly) { f in
      let watch = try f.stream(F.sandboxes + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=1", bearer: F.admin.token)
      // The final chunk comes: curl exits 0, and the emulator holds no watch.
      let result = try await watch.result(timeout: .seconds(20))
      #expect(result.exitCode == 0, "\(result)")
      try await eventually("the emulator to forget the watch") { f.emulator.openWatches == 0 }
    }
  }

  @Test func withoutResourceVersionTheCurrentStateComesFirstAndSelectorsFilter() async throws {
    try await F.with(tokens: [F.admin], configure: SandboxAPITests.apiOnly) { f in
      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("a", labels: ["managed-by": "agentcube"]))
      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("b"))
      let watch = try f.stream(
        "/apis/agents.x-k8s.io/v1beta1/sandboxes?watch=true&labelSelector=managed-by%3Dagentcube&timeoutSeconds=120",
        bearer: F.admin.token)
      _ = try await F.lines(of: watch, count: 1)
      // Stops matching: DELETED for this watch.
      _ = try await f.request(
        F.sandboxes + "/a", method: "PATCH", bearer: F.admin.token, body: #"{"metadata":{"labels":{"managed-by":null}}}"#,
        contentType: "application/merge-patch+json")
      let lines = try await F.lines(of: watch, count: 2)
      #expect(Self.types(lines) == ["ADDED", "DELETED"], "\(watch.stdout)")
      _ = try await watch.kill()
    }
  }

  @Test func compactedResourceVersionGets410ErrorEvent() async throws {
    try await F.with(tokens: [F.admin], configure: SandboxAPITests.apiOnly) { f in
      let created = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1"))
      _ = try await f.request(F.sandboxes + "/s1", method: "DELETE", bearer: F.admin.token)
      let point = f.emulator.compact()
      let old = try await f.request(
        F.sandboxes + "?watch=true&resourceVersion=\(created.resourceVersion)", method: "GET", bearer: F.admin.token)
      #expect(old.status == 200)
      let event = try JSONSerialization.jsonObject(with: Data(old.body.utf8)) as? [String: Any]
      #expect(event?["type"] as? String == "ERROR", "\(old)")
      let status = try #require(event?["object"] as? [String: Any])
      #expect(status["code"] as? Int == 410 && status["reason"] as? String == "Expired" && status["kind"] as? String == "Status")
      #expect(status["message"] as? String == "too old resource version: \(created.resourceVersion) (\(point))")
      // From the compaction point on is fine.
      let fresh = try await f.request(
        F.sandboxes + "?watch=true&resourceVersion=\(point)&timeoutSeconds=1", method: "GET", bearer: F.admin.token)
      #expect(fresh.status == 200 && fresh.body.isEmpty, "\(fresh)")
    }
  }

  @Test func cutWatchesCloseTheStreamAbruptly() async throws {
    try await F.with(tokens: [F.admin], configure: SandboxAPITests.apiOnly) { f in
      let watch = try f.stream(F.sandboxes + "?watch=true", bearer: F.admin.token)
      try await eventually("the watch to open") { f.emulator.openWatches == 1 }
      #expect(f.emulator.cutWatches() == 1)
      let result = try await watch.result(timeout: .seconds(10))
      #expect(result.exitCode == 18, "\(result)")  // CURLE_PARTIAL_FILE: no final chunk
    }
  }

  @Test func splitChunksCutEachEventAtOddOffsets() async throws {
    try await F.with(tokens: [F.admin], configure: {
      SandboxAPITests.apiOnly(&$0)
      $0.watch.splitChunks = true
    }) { f in
      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1"))
      let raw = try f.stream(F.sandboxes + "?watch=true&timeoutSeconds=1", bearer: F.admin.token, raw: true)
      let decoded = try f.stream(F.sandboxes + "?watch=true&timeoutSeconds=1", bearer: F.admin.token)
      let rawResult = try await raw.result(timeout: .seconds(10))
      let decodedResult = try await decoded.result(timeout: .seconds(10))
      // --raw shows the chunk framing: size lines 1, 7, d (13), …, and 1 for the newline alone.
      let sizes = rawResult.stdout.components(separatedBy: "\r\n").enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
      #expect(Array(sizes.prefix(3)) == ["1", "7", "d"], "\(rawResult.stdout)")
      #expect(sizes.suffix(2).first == "0" || sizes.contains("0"))
      let line = try #require(decodedResult.stdout.split(separator: "\n").first)
      let event = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
      #expect(event?["type"] as? String == "ADDED", "\(decodedResult.stdout)")
    }
  }
}
