import AgentCubeCore
import AgentCubeLocalBackend
import AgentCubeServer
import AgentCubeTransport
import Foundation
import Logging

/// The real server, in this process: `SessionServer` (logging and authentication interceptors, the
/// router, the session and health services) over a `LocalBackend` and a `TokenFileAuthenticator`,
/// listening on a Unix socket in a fresh temporary directory.
struct BenchmarkServer: Sendable {
  /// The temporary directory: socket, token file and the backend's state.
  let directory: String
  let server: SessionServer
  let backend: LocalBackend
  /// The one token of the token file, for `system:serviceaccount:bench:client`.
  let token: String

  var socketPath: String { directory + "/s.sock" }

  /// The emulator behind a `tokenreview` server; `nil` for the token file.
  let tokenReview: TokenReviewEnvironment?

  /// Writes the token file, starts the backend (and for `tokenreview` the emulator) and binds the server.
  static func start(logger: Logger, authenticator kind: BenchmarkAuthenticator = .tokenFile) async throws
    -> BenchmarkServer
  {
    // Short path: Unix socket paths hold at most 107 bytes.
    var template = Array("/tmp/acbench-XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
    let directory = String(cString: created)
    // mkdtemp makes it 0700; a sandbox's root (an unprivileged host uid) must pass through it to
    // its bundle under state/, and the backend refuses a state directory others cannot search.
    guard chmod(directory, 0o711) == 0 else { throw CocoaError(.fileWriteNoPermission) }

    let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    let tokenFile = directory + "/tokens.csv"
    let line =
      "\(token),system:serviceaccount:bench:client,\(UUID().uuidString.lowercased()),\"system:serviceaccounts\"\n"
    guard
      FileManager.default.createFile(
        atPath: tokenFile, contents: Data(line.utf8), attributes: [.posixPermissions: 0o600])
    else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: tokenFile]) }
    let tokenReview: TokenReviewEnvironment? = kind == .tokenReview ? try await .start(token: token) : nil
    let authenticator: any Authenticator = try tokenReview?.authenticator ?? TokenFileAuthenticator(path: tokenFile)

    let backend = try await LocalBackend(
      configuration: .defaults(stateDirectory: directory + "/state"), logger: logger)
    // One caller runs every cycle: the benchmark measures the server's machinery, so the limits
    // per caller (live sessions, CreateSession rate, tunnels) are set above what it can ask for.
    var policy = SessionPolicy.defaults
    policy.maxSessionsPerIdentity = 1000
    policy.createRatePerIdentity = 1_000_000
    policy.createBurstPerIdentity = 1000
    policy.maxTunnelsPerIdentity = 1000
    let server = SessionServer(
      configuration: .init(
        transport: .init(
          unixSocketPath: directory + "/s.sock", tcp: nil, connection: .defaults, drainGrace: .seconds(5)),
        policy: policy),
      backend: backend, authenticator: authenticator, logger: logger)
    _ = try await server.start()
    return BenchmarkServer(
      directory: directory, server: server, backend: backend, token: token, tokenReview: tokenReview)
  }

  /// Stops the server and the backend and removes the directory.
  func stop() async {
    await server.shutdown()
    await backend.shutdown()
    await tokenReview?.stop()
    try? FileManager.default.removeItem(atPath: directory)
  }
}
