import AgentCubeCore
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: one server per state directory, one sandbox per id range")
struct LocalBackendLockTests {
  @Test("a second backend on a state directory in use is refused until the first shuts down")
  func stateDirectoryLock() async throws {
    let context = try TestContext()
    defer { context.remove() }
    let first = try await LocalBackend(configuration: context.configuration(), logger: testLogger)
    await #expect(throws: LocalBackendError.self) {
      _ = try await LocalBackend(configuration: context.configuration(), logger: testLogger)
    }
    await first.shutdown()
    let second = try await LocalBackend(configuration: context.configuration(), logger: testLogger)
    await second.shutdown()
  }

  @Test("an id range held by a live process is skipped, one whose holder died is free, and a release frees it")
  func idRangeClaims() throws {
    let context = try TestContext()
    defer { context.remove() }
    let pool = try IDRangePool(base: 3_000_000_000, count: 2, claimDirectory: context.directory)
    let me = ProcessIdentity.server
    let first = try #require(try pool.claim(for: me))
    let second = try #require(try pool.claim(for: me))
    #expect(Set([first, second]) == [0, 1])
    #expect(pool.hostID(of: 1) == 3_000_065_536)
    #expect(try pool.claim(for: me) == nil, "both ranges are held by a live process")
    // A holder that is gone (a recycled pid: same number, another start time) frees its range.
    let dead = ProcessIdentity(pid: me.pid, startTime: me.startTime + 1)
    #expect(try pool.transfer(index: first, from: me, to: dead))
    #expect(try pool.transfer(index: second, from: dead, to: me) == false, "a live holder keeps its range")
    #expect(try pool.claim(for: me) == first)
    pool.release(index: second, heldBy: dead)
    #expect(pool.holder(of: second) == me, "only the holder releases")
    pool.release(index: second, heldBy: me)
    #expect(pool.holder(of: second) == nil)
    #expect(throws: LocalBackendError.self) {
      try IDRangePool(base: 4_294_000_000, count: 100, claimDirectory: context.directory)
    }
  }

  @Test("sandbox id ranges that overlap /etc/subuid or /etc/subgid are found")
  func subordinateOverlap() throws {
    let context = try TestContext()
    defer { context.remove() }
    let file = context.directory + "/subuid"
    try FileSystem.write(Array("alice:100000:65536\nbob:1000065536:65536\n".utf8), to: file, mode: 0o644)
    #expect(SubordinateIDs.overlap(base: 200_000, count: 65_536, files: [file]) == nil)
    #expect(SubordinateIDs.overlap(base: 1_000_000_000, count: 65_536 * 4, files: [file])?.contains("bob") == true)
    #expect(SubordinateIDs.overlap(base: 165_535, count: 10, files: [file])?.contains("alice") == true)
  }
}
