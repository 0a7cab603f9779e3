import CAgentCubeProcess
import Glibc

/// Workspaces with a size: each sandbox's workspace is an ext4 filesystem image of its own,
/// loop-mounted (nosuid, nodev) at the workspace directory, so filling it fails writes with ENOSPC
/// there and nowhere else, and ending it is an unmount and one unlink whatever the sandbox left
/// inside (a 20,000-deep tree included).
///
/// Formatting takes ~80 ms, so images are formatted ahead of need: a few spares per size wait in
/// `<state>/spares` and a sandbox takes one with a rename.
struct WorkspaceVolumes: Sendable {
  let sparesDirectory: String
  let mkfs: String
  /// Spares kept per size.
  let sparesPerSize: Int

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

  /// Puts a formatted image of `bytes` at `path`: a spare when one is there, else a new one.
  func makeImage(at path: String, bytes: Int64) async throws {
    for name in FileSystem.list(sparesDirectory) ?? [] where name.hasPrefix("\(bytes)-") && name.hasSuffix(".img") {
      if rename(sparesDirectory + "/" + name, path) == 0 { return }
    }
    try await format(path, bytes: bytes)
  }

  /// Formats spares of `bytes` until there are ``sparesPerSize``; failures are left to the next need.
  func refill(bytes: Int64) async {
    while (FileSystem.list(sparesDirectory) ?? []).filter({ $0.hasPrefix("\(bytes)-") && $0.hasSuffix(".img") }).count
      < sparesPerSize
    {
      let temporary = sparesDirectory + "/.\(bytes)-\(UInt64.random(in: 0...UInt64.max)).tmp"
      do {
        try await format(temporary, bytes: bytes)
        guard rename(temporary, sparesDirectory + "/\(bytes)-\(UInt64.random(in: 0...UInt64.max)).img") == 0 else {
          unlink(temporary)
          return
        }
      } catch {
        unlink(temporary)
        return
      }
    }
  }

  /// Mounts the image at `path` on the directory `target` and gives its root to `owner`.
  func mount(image path: String, at target: String, owner: (uid: UInt32, gid: UInt32)) throws {
    let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
    guard fd >= 0 else { throw FileSystem.error("cannot open the workspace image", path) }
    defer { close(fd) }
    var device = [CChar](repeating: 0, count: 64)
    let result = CAgentCubeProcess_mountLoopImage(fd, target, "ext4", &device, Int32(device.count))
    guard result == 0 else { throw FileSystem.error("cannot mount the workspace image on", target, result) }
    rmdir(target + "/lost+found")
    guard chown(target, owner.uid, owner.gid) == 0, chmod(target, 0o755) == 0 else {
      let code = errno
      unmount(target)
      throw FileSystem.error("cannot hand the workspace to the sandbox:", target, code)
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
    guard sized else {
      unlink(path)
      throw FileSystem.error("cannot size the workspace image", path, code)
    }
    // No journal and lazy tables: the image lives as long as its sandbox; -m 0: no reserved blocks.
    let request = SpawnRequest(
      executable: mkfs,
      arguments: [
        mkfs, "-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1",
        path,
      ], environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    let status = try await ChildProcess.run(request, timeout: .seconds(30))
    guard status == .exited(0) else {
      unlink(path)
      throw LocalBackendError("mkfs.ext4 failed on the workspace image (\(status))")
    }
  }
}
