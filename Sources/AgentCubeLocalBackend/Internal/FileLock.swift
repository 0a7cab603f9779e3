import Glibc

/// An exclusive `flock` on a file, held until the lock is released (deinit closes the file).
///
/// The kernel drops the lock when the process dies, so a crashed server never leaves one behind.
final class FileLock: Sendable {
  private let descriptor: Int32

  private init(descriptor: Int32) { self.descriptor = descriptor }

  deinit { close(descriptor) }

  /// Takes the lock on `path` (created with `mode` if missing), or returns `nil` when another
  /// process holds it.
  ///
  /// - Throws: ``LocalBackendError`` when the file cannot be opened.
  static func acquire(_ path: String, mode: mode_t = 0o600) throws -> FileLock? {
    let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode)
    guard descriptor >= 0 else {
      throw LocalBackendError("cannot open the lock file \(path): \(String(cString: strerror(errno)))")
    }
    guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
      let error = errno
      close(descriptor)
      if error == EWOULDBLOCK { return nil }
      throw LocalBackendError("cannot lock \(path): \(String(cString: strerror(error)))")
    }
    return FileLock(descriptor: descriptor)
  }
}
