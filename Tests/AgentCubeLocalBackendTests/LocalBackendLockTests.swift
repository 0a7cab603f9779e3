import AgentCubeCore
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: one server per state directory, one session per address")
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

  @Test("an address locked by another server is skipped")
  func addressLocks() throws {
    let directory = try TestContext()
    defer { directory.remove() }
    let base = "127.97.\(Int.random(in: 0...255))"
    var pool = try AddressPool(cidr: base + ".0/30")  // hosts .1 and .2
    let lockDirectory = directory.directory
    let held = try #require(try FileLock.acquire("\(lockDirectory)/\(base).1.lock"))
    for _ in 0..<4 {
      let claimed = pool.allocate(port: 9, excluding: []) { try? FileLock.acquire("\(lockDirectory)/\($0).lock") ?? nil }
      #expect(claimed?.address == base + ".2")
    }
    _ = held
  }
}
