import Foundation
import Glibc
import Logging

/// Removes a directory tree of any depth with two descriptors and no recursion.
///
/// A sandbox can leave anything in its files: 20,000 nested directories, modes of 000, symbolic
/// links to host paths. Recursion (one stack frame and descriptor per level) crashes on such a tree
/// and paths grow past PATH_MAX, so instead every non-empty subdirectory met is renamed to the top
/// of the tree and emptied from there later: the depth never exceeds one, links are removed, never
/// followed (`O_NOFOLLOW`, `unlinkat`), and the work is bounded by the number of entries.
enum TreeRemover {
  /// Removes `path` (file, link or directory tree); a missing path is fine.
  ///
  /// - Throws: ``LocalBackendError`` naming what could not be removed.
  static func remove(_ path: String) throws {
    if unlink(path) == 0 || errno == ENOENT { return }
    guard errno == EISDIR else { throw FileSystem.error("cannot remove", path) }
    let top = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard top >= 0 else {
      if errno == ENOENT { return }
      throw FileSystem.error("cannot open", path)
    }
    defer { close(top) }
    var pending: [String] = []
    var moved = 0
    var retries = 0
    // Until the top is gone: another remover of the same tree (or the sandbox's own last writes)
    // can leave entries at the top that this pass did not see.
    for pass in 0... {
      try empty(top, top: top, path: path, pending: &pending, moved: &moved)
      try removePending(&pending, top: top, path: path, moved: &moved, retries: &retries)
      if rmdir(path) == 0 || errno == ENOENT { return }
      guard errno == ENOTEMPTY, pass < 100 else { throw FileSystem.error("cannot remove", path) }
    }
  }

  /// Empties and removes the directories named in `pending`, each at the top of the tree.
  private static func removePending(
    _ pending: inout [String], top: Int32, path: String, moved: inout Int, retries: inout Int
  ) throws {
    while let name = pending.popLast() {
      let child = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      // Gone: removed by someone else meanwhile (another remover of the same tree), which is fine.
      if child < 0 && errno == ENOENT { continue }
      guard child >= 0 else { throw FileSystem.error("cannot open", path + "/" + name) }
      do {
        try empty(child, top: top, path: path, pending: &pending, moved: &moved)
        close(child)
      } catch {
        close(child)
        throw error
      }
      if unlinkat(top, name, AT_REMOVEDIR) == 0 || errno == ENOENT { continue }
      // readdir may skip an entry of a directory that changes while it is read (entries were
      // moved out): look at it once more, a bounded number of times in all.
      guard errno == ENOTEMPTY, retries < 10_000 else { throw FileSystem.error("cannot remove", path + "/" + name) }
      retries += 1
      pending.append(name)
    }
  }

  /// Removes `path` on a thread of its own, logging a failure: deleting a session never waits for it.
  static func removeInBackground(_ path: String, logger: Logger) {
    let thread = Thread {
      do {
        try remove(path)
      } catch {
        logger.error("cannot remove a sandbox's files", metadata: ["path": "\(path)", "error": "\(error)"])
      }
    }
    thread.start()
  }

  /// Unlinks the files of the directory open at `fd` and removes its empty subdirectories; the
  /// others are queued in `pending` (moved to the top first unless `fd` is the top).
  private static func empty(_ fd: Int32, top: Int32, path: String, pending: inout [String], moved: inout Int) throws {
    // The owner (or root) may always change the mode: a 000 directory can be read again.
    fchmod(fd, 0o700)
    let listing = dup(fd)
    guard listing >= 0, let directory = fdopendir(listing) else {
      if listing >= 0 { close(listing) }
      throw FileSystem.error("cannot read", path)
    }
    defer { closedir(directory) }
    // The duplicate shares the offset of `fd`, which an earlier pass left at the end.
    rewinddir(directory)
    while let entry = readdir(directory) {
      let name = withUnsafePointer(to: &entry.pointee.d_name) {
        String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
      }
      if name == "." || name == ".." { continue }
      if unlinkat(fd, name, 0) == 0 || errno == ENOENT { continue }
      guard errno == EISDIR else { throw FileSystem.error("cannot remove", path + "/…/" + name) }
      if unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT { continue }
      if fd == top {
        pending.append(name)
        continue
      }
      // A fresh name at the top; one taken by the sandbox's own files makes rename fail: next.
      var target = ""
      var renamed = false
      var gone = false
      for _ in 0..<1000 {
        moved += 1
        target = ".agentcube-removing-\(moved)"
        if renameat(fd, name, top, target) == 0 {
          renamed = true
          break
        }
        if errno == ENOENT {
          gone = true
          break
        }
        guard errno == EEXIST || errno == ENOTEMPTY || errno == ENOTDIR || errno == EISDIR else { break }
      }
      if gone { continue }
      guard renamed else { throw FileSystem.error("cannot move for removal", path + "/…/" + name) }
      pending.append(target)
    }
  }
}
