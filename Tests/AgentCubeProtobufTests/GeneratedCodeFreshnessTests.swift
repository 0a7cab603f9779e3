import Foundation
import Testing

/// The committed protoc-c output must be exactly what protoc-c makes of Protos/ now
/// (the same check as scripts/check-protos-fresh.sh).
@Suite("Generated code")
struct GeneratedCodeFreshnessTests {
  static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test("Sources/CAgentCubeProtobuf is byte-identical to a fresh protoc-c run")
  func committedCodeIsFresh() throws {
    let protocC = try #require(
      Self.executable(named: "protoc-c"),
      "protoc-c is not on PATH: install protobuf-c-compiler (apt-get install protobuf-c-compiler)"
    )
    let fileManager = FileManager.default
    let output = fileManager.temporaryDirectory.appending(path: "agentcube-protoc-c-\(UUID().uuidString)")
    try fileManager.createDirectory(at: output, withIntermediateDirectories: true)
    defer { try? fileManager.removeItem(at: output) }

    let protos = Self.root.appending(path: "Protos")
    let protoFiles = try Self.files(under: protos).keys.filter { $0.hasSuffix(".proto") }.sorted()
    try #require(!protoFiles.isEmpty, "no .proto files under \(protos.path)")

    let process = Process()
    process.executableURL = protocC
    process.arguments = ["--c_out=\(output.path)", "-I."] + protoFiles
    process.currentDirectoryURL = protos
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0, "protoc-c exited with \(process.terminationStatus)")

    // scripts/generate-protos.sh puts headers under include/, sources beside it.
    var fresh: [String: Data] = [:]
    for (path, data) in try Self.files(under: output) {
      fresh[path.hasSuffix(".h") ? "include/" + path : path] = data
    }
    let committed = try Self.files(under: Self.root.appending(path: "Sources/CAgentCubeProtobuf"))
      .filter { $0.key.hasSuffix(".pb-c.h") || $0.key.hasSuffix(".pb-c.c") }

    let hint = "run scripts/generate-protos.sh and commit the result"
    #expect(committed.keys.sorted() == fresh.keys.sorted(), "the set of generated files differs; \(hint)")
    #expect(!fresh.isEmpty)
    for (path, data) in fresh.sorted(by: { $0.key < $1.key }) {
      #expect(committed[path] == data, "Sources/CAgentCubeProtobuf/\(path) is stale; \(hint)")
    }
  }

  /// The regular files under `directory`, by path relative to it.
  static func files(under directory: URL) throws -> [String: Data] {
    let base = directory.standardizedFileURL.path + "/"
    var files: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey])
    while let url = enumerator?.nextObject() as? URL {
      guard try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true else { continue }
      let path = url.standardizedFileURL.path
      files[path.hasPrefix(base) ? String(path.dropFirst(base.count)) : path] = try Data(contentsOf: url)
    }
    return files
  }

  /// `name` found on PATH, if it is there.
  static func executable(named name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    return path.split(separator: ":").lazy
      .map { URL(filePath: String($0)).appending(path: name) }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }
}
