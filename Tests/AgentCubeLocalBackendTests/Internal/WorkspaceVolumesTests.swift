import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite(
  "WorkspaceVolumes: loop-mounted workspaces, one setup at a time on the machine",
  .enabled(if: WorkspaceVolumes.unavailableReason(mkfs: WorkspaceVolumes.findMkfs()) == nil, "needs root, mkfs.ext4 and /dev/loop-control"),
  .timeLimit(.minutes(10))
)
struct WorkspaceVolumesTests {
  static let bytes: Int64 = 32 << 20

  /// A template in a fresh directory, and `count` image paths and mount points beside it.
  struct Volumes {
    let context: TestContext
    let volumes: WorkspaceVolumes

    init() async throws {
      context = try TestContext()
      try FileSystem.makeDirectory(context.directory + "/templates", mode: 0o700)
      volumes = WorkspaceVolumes(templatesDirectory: context.directory + "/templates", mkfs: WorkspaceVolumes.findMkfs()!)
      try await volumes.makeTemplate(bytes: WorkspaceVolumesTests.bytes)
    }

    /// A new image and an empty directory to mount it on.
    func prepare(_ name: String) throws -> (image: String, target: String) {
      let image = context.directory + "/\(name).img"
      let target = context.directory + "/\(name)"
      try volumes.makeImage(at: image, bytes: WorkspaceVolumesTests.bytes)
      try FileSystem.makeDirectory(target, mode: 0o711)
      return (image, target)
    }

    /// The device of what is mounted at `path`, or `nil` when it is the parent's.
    func mountedDevice(_ path: String) -> UInt64? {
      var inner = stat()
      var outer = stat()
      guard stat(path, &inner) == 0, stat(context.directory, &outer) == 0, inner.st_dev != outer.st_dev else { return nil }
      return UInt64(inner.st_dev)
    }
  }

  @Test("sixteen workspaces mounted at once each get a loop device of their own")
  func concurrentMounts() async throws {
    let f = try await Volumes()
    defer { f.context.remove() }
    let prepared = try (0..<16).map { try f.prepare("w\($0)") }
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (image, target) in prepared {
        group.addTask { try await BlockingWork.run { try f.volumes.mount(image: image, at: target) } }
      }
      try await group.waitForAll()
    }
    let devices = prepared.map { f.mountedDevice($0.target) }
    #expect(!devices.contains(nil), "every workspace is mounted")
    #expect(Set(devices).count == prepared.count, "each on a device of its own")
    for (_, target) in prepared { f.volumes.unmount(target) }
  }

  @Test("while another process holds the machine's loop lock a mount waits, up to its timeout; released, it mounts")
  func theLockIsMachineWide() async throws {
    let f = try await Volumes()
    defer { f.context.remove() }
    let (image, target) = try f.prepare("w")
    // util-linux flock(1) takes the same flock any other agentcubed would; it and its sleep (which
    // shares the locked descriptor) are a process group of their own, killed together.
    let holder = try ChildProcess.spawn(
      SpawnRequest(
        executable: "/usr/bin/flock", arguments: ["flock", "/dev/loop-control", "/bin/sleep", "600"], environment: [],
        newSession: true))
    @Sendable func release() async {
      kill(-holder, SIGKILL)
      await BlockingWork.run {
        var status: Int32 = 0
        while waitpid(holder, &status, 0) < 0 && errno == EINTR {}
      }
    }
    var released = false
    defer { if !released { kill(-holder, SIGKILL) } }
    let probe = SpawnRequest(
      executable: "/usr/bin/flock", arguments: ["flock", "-n", "/dev/loop-control", "/bin/true"], environment: [])
    let deadline = ContinuousClock.now + .seconds(60)
    while try await ChildProcess.run(probe, timeout: .seconds(60)) == .exited(0) {
      try #require(ContinuousClock.now < deadline, "flock(1) did not take the lock")
      try await Task.sleep(for: .milliseconds(20))
    }

    let refused = #expect(throws: LocalBackendError.self) {
      try f.volumes.mount(image: image, at: target, lockTimeout: .milliseconds(100))
    }
    #expect(refused?.description.contains("timed out") == true, "\(String(describing: refused))")
    #expect(f.mountedDevice(target) == nil)

    await release()
    released = true
    try await BlockingWork.run { try f.volumes.mount(image: image, at: target) }
    #expect(f.mountedDevice(target) != nil)
    f.volumes.unmount(target)
  }
}
