#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prepares a Unix socket path for binding: a stale socket of a dead server is removed, a live
/// one or a non-socket file is an error.
enum UnixSocketFile {
  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  /// Longest path a `sockaddr_un` holds (with its terminating NUL).
  static let maxPathLength = 107

  static func prepare(path: String) throws(Failure) {
    guard path.utf8.count <= maxPathLength else {
      throw Failure(description: "unix socket path is \(path.utf8.count) bytes; at most \(maxPathLength) fit")
    }
    var info = stat()
    guard lstat(path, &info) == 0 else { return }  // Nothing there.
    guard (info.st_mode & S_IFMT) == S_IFSOCK else {
      throw Failure(description: "\(path) exists and is not a socket; refusing to replace it")
    }
    if isListening(path: path) {
      throw Failure(description: "another server is already listening on \(path)")
    }
    guard unlink(path) == 0 || errno == ENOENT else {
      throw Failure(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
    }
  }

  /// Gives the socket its owner, group and mode (who may connect).
  static func setOwnership(path: String, mode: UInt32, owner: UInt32?, group: UInt32?) throws(Failure) {
    if owner != nil || group != nil {
      guard chown(path, owner ?? UInt32.max, group ?? UInt32.max) == 0 else {
        throw Failure(description: "cannot give \(path) to uid \(owner.map(String.init) ?? "-") gid \(group.map(String.init) ?? "-"): \(String(cString: strerror(errno)))")
      }
    }
    guard chmod(path, mode_t(mode & 0o777)) == 0 else {
      throw Failure(description: "cannot set the mode of \(path): \(String(cString: strerror(errno)))")
    }
  }

  private static func isListening(path: String) -> Bool {
    #if canImport(Glibc)
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_UNIX, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      let bytes = Array(path.utf8.prefix(maxPathLength))
      raw.copyBytes(from: bytes)
      raw[bytes.count] = 0
    }
    let result = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    return result == 0
  }
}
