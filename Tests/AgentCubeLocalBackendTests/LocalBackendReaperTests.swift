import AgentCubeCore
import Foundation
import Glibc
import Synchronization
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: reaper and restart")
struct LocalBackendReaperTests {
  @Test("a session past its TTL is ended by the reaper, at the clock's time and not before")
  func ttl() async throws {
    let clock = ManualClock()
    try await withBackend(configure: { $0.clock = clock.wallClock }) { backend, context in
      let spec = makeSpec(image: "hello", ttlSeconds: 60, createdAtMs: clock.now)
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      clock.advance(by: 59_999)
      await backend.reapOnce()
      #expect(try await backend.session(id: spec.id) != nil)
      clock.advance(by: 1)
      #expect(try await backend.session(id: spec.id) == nil, "expired sessions are not served")
      await backend.reapOnce()
      #expect(await backend.processForTesting(spec.id) == nil)
      #expect(!process.isAlive)
      #expect(await eventually { !FileSystem.exists(SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id).root) })
      #expect(FileSystem.list(context.stateDirectory + "/sessions") == [])
    }
  }

  @Test("a session without activity for its idle timeout is ended; activity keeps it")
  func idle() async throws {
    let clock = ManualClock()
    try await withBackend(configure: { $0.clock = clock.wallClock }) { backend, _ in
      let spec = makeSpec(image: "hello", idleTimeoutSeconds: 2, createdAtMs: clock.now)
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      for _ in 0..<3 {  // active every 1.5 s, for longer than the idle timeout: kept
        clock.advance(by: 1500)
        await backend.recordActivity(id: spec.id)
        await backend.reapOnce()
        #expect(try await backend.session(id: spec.id) != nil)
      }
      clock.advance(by: 1999)
      await backend.reapOnce()
      #expect(try await backend.session(id: spec.id) != nil)
      clock.advance(by: 1)
      await backend.reapOnce()
      #expect(try await backend.session(id: spec.id) == nil)
      #expect(!process.isAlive)
    }
  }

  @Test("a sandbox that dies is forgotten by the reaper")
  func died() async throws {
    try await withBackend { backend, _ in
      let spec = makeSpec(image: "hello")
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      let reaper = Task { try await backend.run() }
      defer { reaper.cancel() }
      kill(process.pid, SIGKILL)  // the sandbox's init: its pid namespace ends with it
      let forgotten = try await eventually { try await backend.session(id: spec.id) == nil }
      #expect(forgotten)
    }
  }

  @Test("a restarted backend re-adopts a live session and reaps a dead, an expired and a recycled-pid one")
  func restart() async throws {
    let context = try TestContext()
    defer { context.remove() }
    let configuration = context.configuration(images: ["hello": helloImage])
    let first = try await LocalBackend(configuration: configuration, logger: testLogger)
    let live = makeSpec(image: "hello")
    let dead = makeSpec(image: "hello")
    let expiring = makeSpec(image: "hello", ttlSeconds: 60, createdAtMs: wallClockMilliseconds() - 59_000)
    let recycled = makeSpec(image: "hello")
    var sessions: [String: Session] = [:]
    var processes: [String: ProcessIdentity] = [:]
    for spec in [live, dead, expiring, recycled] {
      sessions[spec.id] = try await first.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await first.processForTesting(spec.id))
      processes[spec.id] = process
    }
    await first.shutdown()
    // Server stop leaves sandboxes running.
    #expect(processes.values.allSatisfy { $0.isAlive })

    // While no server runs: one sandbox dies, one expires, one record's pid goes to another process.
    kill(processes[dead.id]!.pid, SIGKILL)
    #expect(await eventually { !processes[dead.id]!.isAlive })
    #expect(await eventually { wallClockMilliseconds() > expiring.expiresAtMs })
    let bystander = try ChildProcess.spawn(
      SpawnRequest(executable: "/bin/sleep", arguments: ["sleep", "30"], environment: [], newSession: true))
    defer {
      kill(bystander, SIGKILL)
      _ = ChildProcess.reap(bystander)
    }
    let bystanderIdentity = try #require(ProcessIdentity.current(pid: bystander))
    let store = try SessionStore(directory: context.stateDirectory + "/sessions")
    var record = try #require(store.loadAll().records.first { $0.session.id == recycled.id })
    kill(record.process!.pid, SIGKILL)  // the real sandbox goes; its pid "is reused" by the bystander
    record.process = ProcessIdentity(pid: bystander, startTime: bystanderIdentity.startTime + 1)
    try store.save(record)

    let second = try await LocalBackend(configuration: configuration, logger: testLogger)
    // The live one: adopted as it was, its record kept, its sandbox untouched and serving.
    #expect(try await second.session(id: live.id) == sessions[live.id])
    #expect(processes[live.id]!.isAlive)
    #expect(store.loadAll().records.map(\.session.id) == [live.id])
    #expect(await readGreeting(second, id: live.id) == "hello from \(live.name)\n")
    // The others: gone, with their files; the expired one's group was killed.
    for spec in [dead, expiring, recycled] {
      #expect(try await second.session(id: spec.id) == nil)
      #expect(await eventually { !FileSystem.exists(SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id).root) })
    }
    #expect(!processes[expiring.id]!.isAlive)
    // The process that got the recycled pid was neither adopted nor signalled.
    #expect(bystanderIdentity.isAlive)

    try await second.deleteSession(id: live.id, caller: try caller())
    #expect(!processes[live.id]!.isAlive)
    await second.terminateAllForTesting()
  }
}

/// A wall clock that moves only when told.
final class ManualClock: Sendable {
  private let milliseconds = Mutex<Int64>(1_800_000_000_000)

  var now: Int64 { milliseconds.withLock { $0 } }

  func advance(by delta: Int64) { milliseconds.withLock { $0 += delta } }

  var wallClock: WallClock { WallClock { [self] in self.now } }
}
