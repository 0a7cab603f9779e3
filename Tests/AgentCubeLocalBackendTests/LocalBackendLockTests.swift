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

  @Test("an id range claimed by another server is skipped; a released one is claimed again")
  func idRangeClaims() throws {
    let context = try TestContext()
    defer { context.remove() }
    let pool = try IDRangePool(base: 3_000_000_000, count: 2, lockDirectory: context.directory)
    let held = try #require(pool.claim(index: 0))
    #expect(held.hostID == 3_000_000_000)
    #expect(pool.claim(index: 0) == nil, "a second claim on a held range")
    for _ in 0..<4 {
      let claim = try #require(pool.claim())
      #expect(claim.index == 1 && claim.hostID == 3_000_065_536)
    }
    let other = try #require(pool.claim())
    #expect(pool.claim() == nil, "both ranges are held")
    _ = (held, other)
    #expect(throws: LocalBackendError.self) {
      try IDRangePool(base: 4_294_000_000, count: 100, lockDirectory: context.directory)
    }
  }
}
