import AgentCube
import ArgumentParser

/// How to reach the server under test, and which image serves as the sink.
struct ServerConnectionOptions: ParsableArguments {
  @Option(help: "agentcubed's TCP address, HOST:PORT.")
  var server: String = "127.0.0.1:17420"

  @Option(help: "The server's process id: its CPU time and memory are read from /proc.")
  var serverPid: Int32

  @Option(help: "A bearer token accepted by the server.")
  var token: String

  @Option(help: "The image that runs `tcp-pump sink` on its port.")
  var image: String = "sink"

  var host: String { String(server[..<(server.lastIndex(of: ":") ?? server.endIndex)]) }
  var port: Int { server.lastIndex(of: ":").flatMap { Int(server[server.index(after: $0)...]) } ?? 0 }

  func validate() throws {
    guard !host.isEmpty, (1...65535).contains(port) else { throw ValidationError("--server must be HOST:PORT") }
  }

  func makeClient() -> AgentCubeClient {
    AgentCubeClient(target: .tcp(host: host, port: port), token: .token(token))
  }
}

/// A session of the sink image for the length of `body`; deleted afterwards.
func withSinkSession<T: Sendable>(
  _ client: AgentCubeClient, image: String, _ body: (Session) async throws -> T
) async throws -> T {
  let session = try await client.sessions.createSession(.init(image: image, ttlSeconds: 3600)).session
  do {
    let result = try await body(session)
    _ = try? await client.sessions.deleteSession(.init(sessionID: session.id))
    return result
  } catch {
    _ = try? await client.sessions.deleteSession(.init(sessionID: session.id))
    throw error
  }
}
