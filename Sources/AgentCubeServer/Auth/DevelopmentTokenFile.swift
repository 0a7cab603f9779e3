import Foundation

/// Creates the token file of a first run on the embedded default: one random development token
/// for `system:serviceaccount:default:developer`, readable by the owner only.
public enum DevelopmentTokenFile {
  /// The service account the development token belongs to.
  public static let username = "system:serviceaccount:default:developer"

  /// Creates `path` with a new token unless it exists, and `clientTokenPath` holding the bare
  /// token for clients; returns whether it created them.
  @discardableResult
  public static func ensure(at path: String, clientTokenPath: String? = nil) throws -> Bool {
    guard !FileManager.default.fileExists(atPath: path) else { return false }
    var generator = SystemRandomNumberGenerator()
    let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    let line = "# AgentCube development tokens: token,user,uid,\"groups\"\n"
      + "\(token),\(username),\(UUID().uuidString.lowercased()),\"system:serviceaccounts,system:serviceaccounts:default\"\n"
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try writePrivate(line, to: path)
    if let clientTokenPath {
      try? FileManager.default.removeItem(atPath: clientTokenPath)
      try writePrivate(token + "\n", to: clientTokenPath)
    }
    return true
  }

  /// Creates `path` with mode 0600 from the first byte on (never a moment with the umask's mode),
  /// refusing an existing file or a symbolic link there.
  static func writePrivate(_ text: String, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, "errno": errno]) }
    defer { close(fd) }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
      let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, "errno": errno]) }
      written += n
    }
    guard fsync(fd) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
  }
}
