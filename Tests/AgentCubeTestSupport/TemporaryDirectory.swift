import Foundation

/// A fresh directory under /tmp with a short path (Unix socket paths hold at most 107 bytes),
/// removed by ``remove()``.
public struct TemporaryDirectory: Sendable {
  /// The directory's path.
  public let path: String

  /// Creates the directory.
  public init(prefix: String = "acube") throws {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
    path = String(cString: created)
  }

  /// `path/name`.
  public func file(_ name: String) -> String { "\(path)/\(name)" }

  /// Removes the directory and everything in it.
  public func remove() {
    try? FileManager.default.removeItem(atPath: path)
  }
}
