import AgentCubeTestSupport
import Foundation
import Testing

/// Two servers on one machine, as two `agentcubed` with different state directories are.
@Suite(
  "Two agentcubed on one machine",
  .enabled(if: EndToEnd.hasSocat, "the test image runs /usr/bin/socat"),
  .enabled(if: geteuid() == 0, "sandboxes need root"),
  .timeLimit(.minutes(10))
)
struct SharedMachineEndToEndTests {
  @Test("concurrent creates on two servers all succeed, each sandbox with a host id range no other has")
  func concurrentCreates() async throws {
    let fixtures = try [DaemonFixture(), DaemonFixture()]
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
      let failed = results.filter { $0.exitCode != 0 }
      #expect(failed.isEmpty, "\(failed.map(\.description).joined(separator: "\n"))")
      // Each range is claimed with a lock file every server on the machine shares: the kernel's
      // own view of each sandbox (its init's uid_map) shows distinct host ids.
      let maps = fixtures.flatMap { $0.recordedSandboxUIDMaps() }
      #expect(maps.count == fixtures.count * perServer, "\(maps)")
      #expect(Set(maps).count == maps.count, "two sandboxes share host ids: \(maps)")
      #expect(maps.allSatisfy { $0.hasPrefix("0 ") && $0.hasSuffix(" 65536") && !$0.hasPrefix("0 0 ") }, "\(maps)")
    } catch {
      for fixture in fixtures { _ = await fixture.stopAll() }
      throw error
    }
    for fixture in fixtures {
      for result in await fixture.stopAll() { #expect(result.termination == .exited(0), "\(result)") }
    }
  }
}
