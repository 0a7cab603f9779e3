import AgentCubeTestSupport
import Foundation
import Testing

/// Two servers on one address pool, as two `agentcubed` on one machine with the default
/// `--address-pool` are.
@Suite(
  "Two agentcubed on one address pool",
  .enabled(if: EndToEnd.hasSocat, "the test image runs /usr/bin/socat"),
  .timeLimit(.minutes(3))
)
struct SharedAddressPoolEndToEndTests {
  @Test("concurrent creates on two servers sharing a pool all succeed on distinct addresses")
  func concurrentCreates() async throws {
    var options = DaemonFixture.Options()
    options.addressPool = DaemonFixture.uniqueAddressPool()
    let fixtures = try [DaemonFixture(options: options), DaemonFixture(options: options)]
    defer {
      for fixture in fixtures { fixture.remove() }
    }
    do {
      for fixture in fixtures { _ = try await fixture.startDaemon() }
      let perServer = 4
      let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
        for fixture in fixtures {
          for _ in 0..<perServer {
            group.addTask {
              try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
            }
          }
        }
        return try await group.reduce(into: []) { $0.append($1) }
      }
      // Each address is claimed with a lock file shared by every server on the machine, so the
      // two servers never hand out the same address.
      let failed = results.filter { $0.exitCode != 0 }
      #expect(failed.isEmpty, "\(failed.map(\.description).joined(separator: "\n"))")
      let sessions = results.compactMap { try? $0.decode(CLISession.self) }
      #expect(Set(sessions.map(\.address)).count == sessions.count, "duplicate addresses: \(sessions.map(\.address))")
    } catch {
      for fixture in fixtures { _ = await fixture.stopAll() }
      throw error
    }
    for fixture in fixtures {
      for result in await fixture.stopAll() { #expect(result.termination == .exited(0), "\(result)") }
    }
  }
}
