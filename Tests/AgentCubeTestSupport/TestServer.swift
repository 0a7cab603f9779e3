public import AgentCube
public import AgentCubeLocalBackend
public import AgentCubeServer
public import AgentCubeTransport
import Foundation
public import Logging

/// A real `SessionServer` with a real `LocalBackend` and a token file, on a Unix socket in a temp
/// dir. Callers: `alice` (team-a) and `bob` (team-b) are service accounts; `jane` is not.
public struct TestServer: Sendable {
  /// The callers' tokens.
  public enum Token {
    public static let alice = "alice-token-0123456789"
    public static let bob = "bob-token-0123456789"
    public static let jane = "jane-token-0123456789"
  }

  /// A fast non-SSH image: a TCP echo server on port 7000 of the sandbox's loopback. `-t 60`: after
  /// the client's half-close, socat keeps relaying cat's output instead of quitting after 0.5 s.
  public static let echoImage = LocalImage.command(
    ["socat", "-t", "60", "TCP-LISTEN:7000,bind=${AGENTCUBE_ADDRESS},fork,reuseaddr", "EXEC:/bin/cat"], port: 7000, readiness: .tcp)

  public let directory: TemporaryDirectory
  public let server: SessionServer
  public let backend: LocalBackend
  public var socketPath: String { directory.file("s.sock") }
  public var stateDirectory: String { directory.file("state") }

  /// Starts a server; `policy` defaults to short TTL bounds for reaping tests; `clock` times the
  /// rate limits; `logger`, when given, is the server's (the backend keeps its own).
  public static func start(
    directory: TemporaryDirectory? = nil, policy: SessionPolicy? = nil, reapInterval: Duration = .milliseconds(100),
    drainGrace: Duration = .seconds(5), clock: MonotonicClock = .continuous, logger serverLogger: Logger? = nil,
    connection: ServerConnectionConfiguration = .forTests
  ) async throws -> TestServer {
    let directory = try directory ?? TemporaryDirectory()
    let tokens = try writeTokenFile(in: directory)
    var configuration = LocalBackend.Configuration.defaults(stateDirectory: directory.file("state"))
    configuration.images["echo"] = echoImage
    configuration.reapInterval = reapInterval
    var logger = Logger(label: "test-server")
    logger.logLevel = .warning
    let backend = try await LocalBackend(configuration: configuration, logger: logger)
    var sessionPolicy = policy ?? .defaults
    if policy == nil {
      sessionPolicy.minTTLSeconds = 1
      sessionPolicy.defaultImage = "echo"
    }
    var serverConfiguration = SessionServer.Configuration(
      transport: .init(unixSocketPath: directory.file("s.sock"), tcp: nil, connection: connection, drainGrace: drainGrace),
      policy: sessionPolicy)
    serverConfiguration.clock = clock
    let server = SessionServer(
      configuration: serverConfiguration, backend: backend, authenticator: try TokenFileAuthenticator(path: tokens),
      logger: serverLogger ?? logger)
    _ = try await server.start()
    return TestServer(directory: directory, server: server, backend: backend)
  }

  /// Runs the backend's reaper for the duration of `body`.
  public func withReaper<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    let backend = backend
    let reaper = Task { try await backend.run() }
    defer { reaper.cancel() }
    return try await body()
  }

  /// A client with `token`, or with none.
  public func client(token: String?) -> AgentCubeClient {
    AgentCubeClient(target: .unixSocket(path: socketPath), token: token.map { .token($0) } ?? .none)
  }

  /// Stops the server and the backend; sandboxes keep running unless `deleteSessions`.
  public func stop(deleteSessions: Bool = true) async {
    await server.shutdown()
    if deleteSessions {
      for creator in ["system:serviceaccount:team-a:alice", "system:serviceaccount:team-b:bob"] {
        for session in (try? await backend.sessions(createdBy: creator)) ?? [] {
          try? await backend.deleteSession(
            id: session.id, caller: Caller(identity: try Identity(username: creator), token: BearerToken("unused")))
        }
      }
    }
    await backend.shutdown()
  }

  /// Stops everything and removes the temp dir.
  public func tearDown() async {
    await stop()
    directory.remove()
  }
}

extension TestServer {
  /// The usernames of ``Token``.
  public enum Username {
    public static let alice = "system:serviceaccount:team-a:alice"
    public static let bob = "system:serviceaccount:team-b:bob"
    public static let jane = "jane@example.com"
  }

  /// Writes `<directory>/tokens.csv` with the callers of ``Token``; returns its path.
  public static func writeTokenFile(in directory: TemporaryDirectory) throws -> String {
    let tokens = directory.file("tokens.csv")
    let lines = [
      "\(Token.alice),\(Username.alice),uid-a,\"system:serviceaccounts\"",
      "\(Token.bob),\(Username.bob),uid-b",
      "\(Token.jane),\(Username.jane),uid-j",
    ]
    try lines.joined(separator: "\n").write(toFile: tokens, atomically: true, encoding: .utf8)
    return tokens
  }

  /// Runs `body` with a started server and always tears it down afterwards.
  public static func with<T: Sendable>(
    policy: SessionPolicy? = nil, drainGrace: Duration = .seconds(5), clock: MonotonicClock = .continuous,
    logger: Logger? = nil, connection: ServerConnectionConfiguration = .forTests, _ body: (TestServer) async throws -> T
  ) async throws -> T {
    let server = try await TestServer.start(
      policy: policy, drainGrace: drainGrace, clock: clock, logger: logger, connection: connection)
    do {
      let result = try await body(server)
      await server.tearDown()
      return result
    } catch {
      await server.tearDown()
      throw error
    }
  }
}
