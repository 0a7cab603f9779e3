import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

@testable import AgentCubeKubernetes

/// Streaming through libcurl against the emulator's watches: a reader that falls behind pauses the
/// transfer and loses nothing; cancelling aborts the transfer at once; an idle stream times out.
@Suite("CurlHTTPClient: streams", .timeLimit(.minutes(10)))
struct CurlHTTPStreamTests {
  typealias F = InformerFixture

  static func watchRequest(_ f: F, query: String) throws -> HTTPRequest {
    HTTPRequest(
      method: "GET", url: f.emulator.url + SandboxAPIVersion.v1beta1.path() + "?watch=1&" + query,
      headers: try f.serverAPI.requestHeaders())
  }

  @Test func aReaderThatFallsBehindPausesTheTransferAndLosesNothing() async throws {
    try await F.with { f in
      for index in 1...40 {
        try await f.create(F.sandbox("s\(index)", annotations: ["pad": String(repeating: "p", count: 2000)]))
      }
      // The current state first, as ADDED: about 100 KiB through a 4 KiB buffer.
      let response = try await f.http.stream(
        try Self.watchRequest(f, query: "timeoutSeconds=120"), tls: f.serverAPI.tls,
        options: HTTPStreamOptions(idleTimeout: .seconds(30), bufferLimit: 4096))
      #expect(response.status == 200)
      #expect(response.headers["content-type"] == "application/json")
      var splitter = JSONLineSplitter(maxLineBytes: 1 << 20)
      var lines: [[UInt8]] = []
      for try await chunk in response {
        lines += try splitter.append(chunk)
        if lines.count >= 40 { break }  // the current state, all of it
        if lines.count < 5 { try await Task.sleep(for: .milliseconds(20)) }  // a slow reader at first
      }
      response.cancel()
      let names = try lines.map { line -> String in
        let event = try JSONDecoder().decode(WatchEvent<SandboxObject>.self, from: Data(line))
        guard case .added(let object) = event else { return "?" }
        return object.metadata.name ?? "?"
      }
      #expect(names == (1...40).map { "s\($0)" }.sorted())
    }
  }

  @Test func cancellingTheReaderAbortsTheTransferAtOnce() async throws {
    try await F.with { f in
      let request = try Self.watchRequest(f, query: "timeoutSeconds=600&allowWatchBookmarks=true")
      let reader = Task {
        let response = try await f.http.stream(request, tls: f.serverAPI.tls)
        for try await _ in response {}
      }
      try await eventually("the watch to open") { f.emulator.openWatches == 1 }
      reader.cancel()
      let outcome = await reader.result
      #expect(throws: CancellationError.self) { try outcome.get() }
      // The emulator notices a closed connection when it next writes to it: bookmarks make it write.
      // Long before the watch's own end (600 s): the transfer was aborted, not left to run.
      try await eventually("the server to see the connection go") {
        f.emulator.sendBookmarks()
        return f.emulator.openWatches == 0
      }
    }
  }

  @Test func aQuietStreamFailsAfterItsIdleTimeout() async throws {
    try await F.with { f in
      let request = try Self.watchRequest(f, query: "timeoutSeconds=600")
      // On a busy machine the idle time can pass before the headers: either way it is a timeout.
      let error = await #expect(throws: HTTPTransferError.self) {
        let response = try await f.http.stream(request, tls: f.serverAPI.tls, options: HTTPStreamOptions(idleTimeout: .seconds(1)))
        for try await _ in response {}
      }
      #expect(error?.kind == .timeout, "\(String(describing: error))")
    }
  }
}
