#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Reads a small file whole, refusing one larger than a limit before reading it all (`/dev/zero` included).
enum BoundedFileReader {
  /// The file's bytes.
  ///
  /// - Throws: ``CommandError`` naming `path` and the system's reason, or the limit.
  static func read(_ path: String, limit: Int) throws(CommandError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CommandError("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count <= limit {
      let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if count < 0, errno == EINTR { continue }
      guard count >= 0 else { throw CommandError("cannot read \(path): \(String(cString: strerror(errno)))") }
      if count == 0 { return bytes }
      bytes += chunk[..<count]
    }
    throw CommandError("\(path) is larger than \(limit) bytes")
  }
}
