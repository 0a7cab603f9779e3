import Glibc

/// The few file operations the backend needs, on Glibc, with errors that name the path.
enum FileSystem {
  static func error(_ what: String, _ path: String, _ code: Int32 = errno) -> LocalBackendError {
    LocalBackendError("\(what) \(path): \(String(cString: strerror(code)))")
  }

  static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

  static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  /// Creates `path` and any missing parents; sets `mode` on `path` itself (existing or new).
  static func makeDirectory(_ path: String, mode: mode_t) throws {
    var prefix = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
      prefix += "/" + component
      if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw error("cannot create directory", prefix) }
    }
    guard chmod(path, mode) == 0 else { throw error("cannot set the mode of", path) }
  }

  /// Writes `bytes` to a new or truncated file with `mode`.
  static func write(_ bytes: [UInt8], to path: String, mode: mode_t, sync: Bool = false) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
    guard fd >= 0 else { throw error("cannot open", path) }
    defer { close(fd) }
    guard fchmod(fd, mode) == 0 else { throw error("cannot set the mode of", path) }
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw error("cannot write", path) }
      offset += n
    }
    if sync && fsync(fd) != 0 { throw error("cannot sync", path) }
  }

  /// Replaces `path` atomically: a temporary file beside it, fsync, rename, fsync of the directory.
  static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
    let directory = parent(of: path)
    let temporary = directory + "/." + lastComponent(of: path) + ".tmp"
    try write(bytes, to: temporary, mode: mode, sync: true)
    guard rename(temporary, path) == 0 else {
      let code = errno
      unlink(temporary)
      throw error("cannot rename into", path, code)
    }
    syncDirectory(directory)
  }

  static func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
  }

  /// Reads at most `limit` bytes of a file, or `nil` when it cannot be opened.
  static func read(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    return readAll(fd, limit: limit)
  }

  /// The last `count` bytes of a file (or fewer), or `nil` when it cannot be opened.
  static func readTail(_ path: String, count: Int) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    let size = lseek(fd, 0, SEEK_END)
    guard size >= 0, lseek(fd, max(0, size - off_t(count)), SEEK_SET) >= 0 else { return nil }
    return readAll(fd, limit: count)
  }

  private static func readAll(_ fd: Int32, limit: Int) -> [UInt8]? {
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while result.count < limit {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, limit - result.count)) }
      if n < 0 && errno == EINTR { continue }
      if n < 0 { return nil }
      if n == 0 { break }
      result.append(contentsOf: buffer[..<n])
    }
    return result
  }

  /// Names in a directory (without `.` and `..`), or `nil` when it cannot be read.
  static func list(_ path: String) -> [String]? {
    guard let dir = opendir(path) else { return nil }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafePointer(to: &entry.pointee.d_name) {
        String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  /// Removes `path` and everything below it without following symbolic links; a missing path is
  /// fine. Any depth, two descriptors: see ``TreeRemover``.
  static func removeTree(_ path: String) throws { try TreeRemover.remove(path) }

  static func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  static func lastComponent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }
}
