public import AgentCube
public import AgentCubeCore
public import AgentCubeServer
import Foundation
import Logging

/// A real `SessionServer` over any backend, with ``TestServer``'s token file (alice, bob, jane),
/// on a Unix socket in a temp dir: how the conformance suite drives every backend alike.
public struct BackendServer: Sendable {
  public let directory: TemporaryDirectory
  public let server: SessionServer
  public let backend: any SessionBackend
  public var socketPath: String { directory.file("s.sock") }

  /// Starts a server over `backend` (which the caller runs and shuts down).
  public static func start(backend: any SessionBackend, policy: SessionPolicy) async throws -> BackendServer {
    let directory = try TemporaryDirectory(prefix: "acbs")
    do {
      let tokens = try TestServer.writeTokenFile(in: directory)
      var logger = Logger(label: "backend-server")
      logger.logLevel = .warning
      let server = SessionServer(
        configuration: .init(
          transport: .init(
            unixSocketPath: directory.file("s.sock"), tcp: nil, connection: .forTests, drainGrace: .seconds(5)),
          policy: policy),
        backend: backend, authenticator: try TokenFileAuthenticator(path: tokens), logger: logger)
      _ = try await server.start()
      return BackendServer(directory: directory, server: server, backend: backend)
    } catch {
      directory.remove()
      throw error
    }
  }

  /// A client with `token`.
  public func client(token: String) -> AgentCubeClient {
    AgentCubeClient(target: .unixSocket(path: socketPath), token: .token(token))
  }

  /// Stops the server and removes its directory; the backend is the caller's.
  public func stop() async {
    await server.shutdown()
    directory.remove()
  }
}
