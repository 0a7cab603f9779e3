import AgentCubeCore
import Foundation
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: create, read, renew, delete")
struct LocalBackendLifecycleTests {
  @Test("create returns a running session that serves inside its own network")
  func createServes() async throws {
    try await withBackend { backend, context in
      let spec = makeSpec(image: "hello")
      let session = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      #expect(session.status == .running)
      #expect(session.id == spec.id && session.creator == alice && session.metadata == spec.metadata)
      #expect(session.expiresAtMs == spec.expiresAtMs && session.ttlSeconds == 3600)
      #expect(session.sshPort == 8080)
      #expect(session.address.isEmpty, "no host address: the sandbox's network is private")
      #expect(await readGreeting(backend, id: spec.id) == "hello from \(spec.name)\n")
      await #expect(throws: RPCError.self) { try await backend.connect(sessionID: spec.id, port: 8081, timeout: .seconds(2)) }
      #expect(try await backend.session(id: spec.id) == session)
      #expect(try await backend.session(id: "no-such-session") == nil)
      #expect(backend.descriptor.name == "local")
    }
  }

  @Test("sessions(createdBy:) lists only the creator's sessions, oldest first, ties by id")
  func listOrderingAndFiltering() async throws {
    try await withBackend { backend, _ in
      let now = wallClockMilliseconds()
      var specs = [
        makeSpec(image: "hello", createdAtMs: now), makeSpec(image: "hello", createdAtMs: now - 5000),
        makeSpec(image: "hello", createdAtMs: now - 5000),
        makeSpec(image: "hello", creator: bob, createdAtMs: now - 9000),
      ]
      specs[2].id = "00000000-" + specs[2].id.dropFirst(9)  // sorts first among the two equal times
      for spec in specs {
        _ = try await backend.createSession(spec, caller: try caller(spec.creator), deadline: soon())
      }
      let listed = try await backend.sessions(createdBy: alice).map(\.id)
      #expect(listed == [specs[2].id, specs[1].id, specs[0].id])
      #expect(try await backend.sessions(createdBy: bob).map(\.id) == [specs[3].id])
      #expect(try await backend.sessions(createdBy: "system:serviceaccount:team:carol").isEmpty)
    }
  }

  @Test("renew sets the new TTL and expiry, in memory and on disk")
  func renew() async throws {
    try await withBackend { backend, context in
      let spec = makeSpec(image: "hello", ttlSeconds: 600)
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let expires = wallClockMilliseconds() + 7_200_000
      let renewed = try await backend.renewSession(
        id: spec.id, ttlSeconds: 7200, expiresAtMs: expires, caller: try caller())
      #expect(renewed.ttlSeconds == 7200 && renewed.expiresAtMs == expires)
      #expect(try await backend.session(id: spec.id)?.expiresAtMs == expires)
      let store = try SessionStore(directory: context.stateDirectory + "/sessions")
      let onDisk = store.loadAll().records.first { $0.session.id == spec.id }
      #expect(onDisk?.session.expiresAtMs == expires && onDisk?.session.ttlSeconds == 7200)
      await #expect(throws: RPCError.notFound("session nope not found")) {
        try await backend.renewSession(id: "nope", ttlSeconds: 60, expiresAtMs: expires, caller: try caller())
      }
    }
  }

  @Test("delete ends the sandbox, its cgroups and mount, and removes its files and record")
  func delete() async throws {
    try await withBackend { backend, context in
      let spec = makeSpec(image: "hello")
      _ = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let process = try #require(await backend.processForTesting(spec.id))
      let layout = SandboxLayout(stateDirectory: context.stateDirectory, id: spec.id)
      #expect(process.isAlive)
      #expect(FileSystem.isDirectory(layout.workspace) && isMountPoint(layout.volume))
      let cgroup = "/sys/fs/cgroup/pids/agentcube/\(spec.id)"
      let hasCgroup = FileSystem.isDirectory(cgroup)
      #expect(FileSystem.exists(layout.recordsDirectory + "/\(spec.id).json"))

      try await backend.deleteSession(id: spec.id, caller: try caller())
      #expect(!process.isAlive)
      if hasCgroup { #expect(!FileSystem.isDirectory(cgroup)) }
      #expect(!isMountPoint(layout.volume))
      // The files go in the background.
      #expect(await eventually { !FileSystem.exists(layout.root) })
      #expect(!FileSystem.exists(layout.recordsDirectory + "/\(spec.id).json"))
      #expect(try await backend.session(id: spec.id) == nil)
      await #expect(throws: RPCError.notFound("session \(spec.id) not found")) {
        try await backend.deleteSession(id: spec.id, caller: try caller())
      }
    }
  }

  @Test("recordActivity updates the session and is written to disk, rate-limited")
  func activity() async throws {
    let rarely: (inout LocalBackend.Configuration) -> Void = { $0.activityPersistInterval = .seconds(3600) }
    try await withBackend(configure: rarely) { backend, context in
      let spec = makeSpec(image: "hello")
      let created = try await backend.createSession(spec, caller: try caller(), deadline: soon())
      let store = try SessionStore(directory: context.stateDirectory + "/sessions")
      func onDisk() -> Int64? { store.loadAll().records.first { $0.session.id == spec.id }?.session.lastActivityAtMs }
      #expect(await eventually { wallClockMilliseconds() > created.lastActivityAtMs + 5 })
      await backend.recordActivity(id: spec.id)
      let updated = try #require(try await backend.session(id: spec.id)).lastActivityAtMs
      #expect(updated > created.lastActivityAtMs)
      #expect(onDisk() == created.lastActivityAtMs)  // within the hour: not written yet
      await backend.shutdown()  // writes what is pending
      #expect(onDisk() == updated)
    }
  }
}
