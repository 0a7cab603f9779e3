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
    chmod(path, 0o711)  // a sandbox's root (another host uid) must reach a state directory inside
  }

  /// `path/name`.
  public func file(_ name: String) -> String { "\(path)/\(name)" }

  /// Removes the directory and everything in it; first detaches whatever is mounted below it (a
  /// sandbox's workspace left by a failed test), so that nothing is removed through a mount.
  public func remove() {
    let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
    for line in mounts.split(separator: "\n") {
      let fields = line.split(separator: " ")
      guard fields.count > 4 else { continue }
      let mountPoint = String(fields[4])
      if mountPoint.hasPrefix(path + "/") { umount2(mountPoint, Int32(MNT_DETACH)) }
    }
    try? FileManager.default.removeItem(atPath: path)
  }
}
