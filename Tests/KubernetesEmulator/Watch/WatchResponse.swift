import NIOHTTP1

/// The answer to a `watch=true` request: newline-delimited JSON events on a chunked stream until
/// `timeoutSeconds` (clean end), a cut (abrupt end) or the client leaves.
struct WatchResponse {
  var store: ObjectStore
  var filter: ObjectFilter
  /// `nil`: the current state first.
  var from: Int?
  var bookmarks: Bool
  var timeout: Duration
  var settings: WatchSettings
  /// `apiVersion` and `kind` of the objects (for bookmarks).
  var apiVersion: String
  var kind: String
  /// The stored object as the client's version shows it.
  var render: @Sendable (JSONValue) -> JSONValue

  /// Parses the watch's query: `resourceVersion`, `allowWatchBookmarks`, `timeoutSeconds`.
  static func from(_ query: [String: String]) throws -> (revision: Int?, bookmarks: Bool, timeout: Duration?) {
    var revision: Int?
    if let text = query["resourceVersion"], !text.isEmpty, text != "0" {
      guard let parsed = Int(text), parsed > 0 else {
        throw KubeStatus.badRequest("invalid resource version: \(text)")
      }
      revision = parsed
    }
    var timeout: Duration?
    if let text = query["timeoutSeconds"], !text.isEmpty {
      guard let seconds = Int(text), seconds >= 0 else {
        throw KubeStatus.badRequest("invalid value for timeoutSeconds: \(text)")
      }
      if seconds > 0 { timeout = .seconds(seconds) }
    }
    let bookmarks = ["1", "t", "T", "true", "TRUE", "True"].contains(query["allowWatchBookmarks"] ?? "")
    return (revision, bookmarks, timeout)
  }

  var response: EmulatorResponse {
    let watch = self
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: "application/json")
    headers.add(name: "Cache-Control", value: "no-cache, private")
    return EmulatorResponse(status: .ok, headers: headers) { stream in try await watch.run(stream) }
  }

  private func run(_ stream: ResponseStream) async throws {
    let (id, messages) = store.watch(filter, from: from, bookmarks: bookmarks)
    let store = self.store
    let interval = settings.bookmarkInterval
    let timeout = self.timeout
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        try? await Task.sleep(for: timeout)
        store.end(id)
      }
      if bookmarks {
        group.addTask {
          while !Task.isCancelled {
            guard (try? await Task.sleep(for: interval)) != nil else { return }
            store.bookmark(id)
          }
        }
      }
      defer { group.cancelAll() }
      for await message in messages {
        switch message {
        case .event(let type, let object):
          try await write(line(type.rawValue, render(object)), to: stream)
        case .bookmark(let revision):
          let object: JSONValue = [
            "apiVersion": .string(apiVersion), "kind": .string(kind),
            "metadata": ["resourceVersion": .string(String(revision))],
          ]
          try await write(line("BOOKMARK", object), to: stream)
        case .error(let status):
          try await stream.write(Array("{\"type\":\"ERROR\",\"object\":\(status.json)}\n".utf8))
          return
        case .cut:
          throw ResponseStream.Cut()
        }
      }
    }
    store.end(id)
  }

  private func line(_ type: String, _ object: JSONValue) -> [UInt8] {
    Array("{\"type\":\"\(type)\",\"object\":\(object.text)}\n".utf8)
  }

  private func write(_ line: [UInt8], to stream: ResponseStream) async throws {
    guard settings.splitChunks, line.count > 2 else { return try await stream.write(line) }
    // Odd cut points: 1 byte, then 7, 13, 31, … (so a cut falls inside a key, a string, an escape),
    // and the newline alone last.
    let body = line.dropLast()
    var offset = body.startIndex
    var sizes = [1, 7, 13, 31, 61].makeIterator()
    while offset < body.endIndex {
      let size = sizes.next() ?? 97
      let end = min(offset + size, body.endIndex)
      try await stream.write(Array(body[offset..<end]))
      offset = end
    }
    try await stream.write([UInt8(ascii: "\n")])
  }
}
