import AgentCubeCore
import Foundation
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: reaper and restart")
struct LocalBackendReaperTests {
  @Test("a session past its TTL is ended by the reaper")
  func ttl() async throws {
    try await withBackend { backend, context in
      // A 60 s TTL that began 55 s ago: 5 s left, more than a create takes on a loaded machine.
      let spec = makeSpec(image: "hello", ttlSeconds: 60, createdAtMs: wallClockMilliseconds() - 55_000)
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      let reaper = Task { try await backend.run() }
      defer { reaper.cancel() }
      #expect(try await backend.session(id: spec.id) != nil)
      #expect(await eventually { await backend.processForTesting(spec.id) == nil })
      #expect(wallClockMilliseconds() >= spec.expiresAtMs)
      #expect(!process.isAlive)
      #expect(await eventually { !FileSystem.exists(SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id).root) })
      #expect(FileSystem.list(context.stateDirectory + "/sessions") == [])
    }
  }

  @Test("a session without activity for its idle timeout is ended; activity keeps it")
  func idle() async throws {
    try await withBackend { backend, _ in
      // 2 s of idle timeout against activity every 100 ms: a loaded machine may stall a sleep, not 1.9 s.
      let spec = makeSpec(image: "hello", idleTimeoutSeconds: 2)
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      let reaper = Task { try await backend.run() }
      defer { reaper.cancel() }
      // Active for 3 s, longer than the idle timeout: still there.
      let activeUntil = ContinuousClock.now + .seconds(3)
      while ContinuousClock.now < activeUntil {
        await backend.recordActivity(id: spec.id)
        try await Task.sleep(for: .milliseconds(100))
      }
      #expect(try await backend.session(id: spec.id) != nil)
      let lastActive = ContinuousClock.now
      #expect(await eventually { await backend.processForTesting(spec.id) == nil })
      #expect(ContinuousClock.now - lastActive >= .milliseconds(1500))
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
