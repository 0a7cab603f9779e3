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
    guard FileManager.default.createFile(atPath: path, contents: Data(line.utf8), attributes: [.posixPermissions: 0o600]) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    if let clientTokenPath {
      try? FileManager.default.removeItem(atPath: clientTokenPath)
      guard FileManager.default.createFile(atPath: clientTokenPath, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: clientTokenPath])
      }
    }
    return true
  }
}
