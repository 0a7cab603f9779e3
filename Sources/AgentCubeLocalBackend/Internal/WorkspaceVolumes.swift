import AgentCubeCore
import CAgentCubeProcess
import Glibc

/// Workspaces with a size: each sandbox's workspace is an ext4 filesystem image of its own,
/// loop-mounted (nosuid, nodev) at the workspace directory, so filling it fails writes with ENOSPC
/// there and nowhere else, and ending it is an unmount and one unlink whatever the sandbox left
/// inside (a 20,000-deep tree included).
///
/// mkfs takes ~80 ms and syncs, so it runs once per size: a new workspace is a sparse copy of that
/// template (a few MiB of metadata through the page cache, no sync: ~5 ms). Templates live in
/// `<state>/templates` and outlive restarts.
struct WorkspaceVolumes: Sendable {
  let templatesDirectory: String
  let mkfs: String

  /// `mkfs.ext4` from e2fsprogs, or `nil` when it is not installed.
  static func findMkfs() -> String? {
    ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].first { access($0, X_OK) == 0 }
  }

  /// Why loop-mounted images cannot work here, or `nil`.
  static func unavailableReason(mkfs: String?) -> String? {
    guard geteuid() == 0 else { return "loop mounts need root" }
    guard mkfs != nil else { return "mkfs.ext4 is missing (install e2fsprogs)" }
    let control = open("/dev/loop-control", O_RDWR | O_CLOEXEC)
    guard control >= 0 else { return "/dev/loop-control: \(String(cString: strerror(errno)))" }
    close(control)
    return nil
  }

  /// The template's path for `bytes`; the caller makes it once with ``makeTemplate(bytes:)``.
  func template(bytes: Int64) -> String { templatesDirectory + "/ext4-\(bytes).img" }

  /// Formats the template of `bytes` if there is none yet (written beside it, then renamed).
  func makeTemplate(bytes: Int64) async throws {
    let path = template(bytes: bytes)
    guard !FileSystem.exists(path) else { return }
    let temporary = templatesDirectory + "/.ext4-\(bytes)-\(UInt64.random(in: 0...UInt64.max)).tmp"
    do {
      try await format(temporary, bytes: bytes)
      guard rename(temporary, path) == 0 else { throw FileSystem.error("cannot rename into", path) }
    } catch {
      unlink(temporary)
      throw error
    }
  }

  /// Puts a fresh filesystem of `bytes` at `path`: a sparse copy of the template.
  func makeImage(at path: String, bytes: Int64) throws {
    try SparseCopy.copy(from: template(bytes: bytes), to: path)
  }

  /// Mounts the image at `path` on the directory `target` (its root: root's, mode 0711), waiting
  /// at most `lockTimeout` for the machine's other loop mounts (every server's) to finish.
  func mount(image path: String, at target: String, lockTimeout: Duration = .seconds(30)) throws {
    let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw FileSystem.error("cannot open the workspace image", path) }
    defer { close(fd) }
    var device = [CChar](repeating: 0, count: 64)
    let result = CAgentCubeProcess_mountLoopImage(
      fd, target, "ext4", &device, Int32(device.count), Int32(clamping: lockTimeout.milliseconds))
    guard result == 0 else { throw FileSystem.error("cannot mount the workspace image on", target, result) }
    rmdir(target + "/lost+found")
    guard chmod(target, 0o711) == 0 else {
      let code = errno
      unmount(target)
      throw FileSystem.error("cannot set the mode of", target, code)
    }
  }

  /// Unmounts `target` if something is mounted there (detached: busy files cannot keep it).
  func unmount(_ target: String) {
    umount2(target, Int32(MNT_DETACH))
  }

  private func format(_ path: String, bytes: Int64) async throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else { throw FileSystem.error("cannot create the workspace image", path) }
    let sized = ftruncate(fd, off_t(bytes)) == 0
    let code = errno
    close(fd)
    guard sized else { throw FileSystem.error("cannot size the workspace image", path, code) }
    // No journal and lazy tables: an image lives as long as its sandbox; -m 0: no reserved blocks.
    let request = SpawnRequest(
      executable: mkfs,
      arguments: [
        mkfs, "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1",
        path,
      ], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    let status = try await ChildProcess.run(request, timeout: .seconds(60))
    guard status == .exited(0) else { throw LocalBackendError("mkfs.ext4 failed on the workspace image (\(status))") }
  }
}

/// Copies a sparse file's data extents (found with SEEK_DATA/SEEK_HOLE) and keeps its holes.
enum SparseCopy {
  static func copy(from source: String, to destination: String) throws {
    let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
    guard input >= 0 else { throw FileSystem.error("cannot open", source) }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard output >= 0 else { throw FileSystem.error("cannot create", destination) }
    defer { close(output) }
    let size = lseek(input, 0, SEEK_END)
    guard size >= 0, ftruncate(output, size) == 0 else { throw FileSystem.error("cannot size", destination) }
    let seekData: Int32 = 3  // SEEK_DATA and SEEK_HOLE (Linux), not imported without _GNU_SOURCE
    let seekHole: Int32 = 4
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    var offset: off_t = 0
    while offset < size {
      let data = lseek(input, offset, seekData)
      if data < 0 {
        if errno == ENXIO { break }  // no data after offset: the rest is a hole
        throw FileSystem.error("cannot read", source)
      }
      let hole = lseek(input, data, seekHole)
      guard hole > data else { throw FileSystem.error("cannot read", source) }
      var position = data
      while position < hole {
        let wanted = min(buffer.count, Int(hole - position))
        let n = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress, wanted, position) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw FileSystem.error("cannot read", source) }
        var written = 0
        while written < n {
          let w = buffer.withUnsafeBytes { pwrite(output, $0.baseAddress! + written, n - written, position + off_t(written)) }
          if w < 0 && errno == EINTR { continue }
          guard w > 0 else { throw FileSystem.error("cannot write", destination) }
          written += w
        }
        position += off_t(n)
      }
      offset = hole
    }
  }
}
