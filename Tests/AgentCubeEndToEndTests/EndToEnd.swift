import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// What the end-to-end suites need from the machine besides the built executables.
enum EndToEnd {
  /// The test image runs socat (scripts/install-deps.sh installs it).
  static let hasSocat = access("/usr/bin/socat", X_OK) == 0

  /// The default image is sshd in a runc sandbox, which needs root; the test uses the real OpenSSH client.
  static let canRunOpenSSH =
    geteuid() == 0
    && ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen", "/usr/sbin/runc"].allSatisfy { (path: String) in
      access(path, X_OK) == 0
    }

  /// The user every development-token call runs as.
  static let developer = "system:serviceaccount:default:developer"
}

/// Runs `body` with a fixture and its first daemon, then stops everything, whatever happened.
///
/// Afterwards it checks what holds for every run: each daemon stopped by the teardown exited 0,
/// and no daemon ever printed the development token.
func withDaemon(
  _ options: DaemonFixture.Options = DaemonFixture.Options(),
  _ body: (DaemonFixture, TestProcess) async throws -> Void
) async throws {
  let fixture = try DaemonFixture(options: options)
  defer { fixture.remove() }
  do {
    let daemon = try await fixture.startDaemon()
    try await body(fixture, daemon)
  } catch {
    _ = await fixture.stopAll()
    throw error
  }
  let token = try developerToken(fixture)
  for result in await fixture.stopAll() {
    #expect(result.termination == .exited(0), "\(result)")
  }
  #expect(!fixture.daemonOutput.contains(token), "a daemon printed the development token")
}

/// The development token the first start wrote.
func developerToken(_ fixture: DaemonFixture) throws -> String {
  let data = try #require(FileManager.default.contents(atPath: fixture.tokenFile), "no \(fixture.tokenFile)")
  return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The `key  value` lines of a text command's stdout, by key (keys may contain one space, e.g. `expires in`).
func fields(_ output: String) -> [String: String] {
  var fields: [String: String] = [:]
  for line in output.split(separator: "\n") {
    guard let gap = line.firstRange(of: "  ") else { continue }
    fields[String(line[..<gap.lowerBound])] = line[gap.upperBound...].trimmingCharacters(in: .whitespaces)
  }
  return fields
}

extension ProcessResult {
  /// Asserts exit status 0 and returns stdout decoded as `T`.
  func succeeded<T: Decodable>(as type: T.Type, sourceLocation: SourceLocation = #_sourceLocation) throws -> T {
    try #require(exitCode == 0, "\(self)", sourceLocation: sourceLocation)
    return try decode(T.self)
  }
}
