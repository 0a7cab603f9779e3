import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("ProcessIdentity")
struct ProcessIdentityTests {
  @Test("stat fields are counted after the last ')' of the command name")
  func parse() {
    let line = "4242 (evil) name (x) S 1 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100 0 0"
    let stat = ProcessStat.parse(Array(line.utf8))
    #expect(stat == ProcessStat(state: "S", processGroup: 4242, startTime: 987654))
    #expect(ProcessStat.parse(Array("12 (short) S 1 2".utf8)) == nil)
  }

  @Test("a process is alive only with its own start time; a zombie is not alive")
  func liveness() async throws {
    let pid = try ChildProcess.spawn(
      SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "30"], environment: [], newSession: true))
    let identity = try #require(ProcessIdentity.current(pid: pid))
    #expect(identity.isAlive)
    #expect(!ProcessIdentity(pid: pid, startTime: identity.startTime + 1).isAlive)
    #expect(ProcessStat.read(pid: pid)?.processGroup == pid, "POSIX_SPAWN_SETSID makes it a group leader")
    kill(pid, SIGKILL)
    #expect(await eventually { ProcessStat.read(pid: pid)?.state == "Z" })
    #expect(!identity.isAlive)
    #expect(!ProcessGroup(id: pid).hasLiveMembers, "a zombie does not count")
    #expect(ChildProcess.reap(pid) == .signaled(SIGKILL))
    #expect(identity.pidIsFree)
  }

  @Test("a child gets no descriptor of ours beyond 0, 1 and 2, and a clean environment")
  func cleanChild() async throws {
    let directory = try TestContext()
    defer { directory.remove() }
    let leaked = open("/dev/null", O_RDONLY)  // without O_CLOEXEC
    defer { close(leaked) }
    let output = directory.directory + "/out"
    let status = try await ChildProcess.run(
      SpawnRequest(
        executable: "/bin/sh", arguments: ["sh", "-c", "ls /proc/self/fd; env"], environment: ["ONLY=this"],
        outputPath: output), timeout: .seconds(10))
    #expect(status == .exited(0))
    let lines = String(decoding: FileSystem.read(output) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    // ls itself opens one descriptor for the directory it lists.
    #expect(lines.filter { Int($0) != nil }.count <= 4, "\(lines)")
    #expect(!lines.contains("\(leaked)") || leaked <= 3)
    #expect(lines.contains("ONLY=this") && !lines.contains { $0.hasPrefix("HOME=") })
  }
}
