import AgentCubeCore
import Testing

@testable import AgentCubeTransport

@Suite struct ConnectionTargetTests {
  @Test(arguments: [
    ("unix:/run/a.sock", "unix:/run/a.sock"), ("unix:///run/a.sock", "unix:/run/a.sock"), ("/tmp/x.sock", "unix:/tmp/x.sock"),
    ("./x.sock", "unix:./x.sock"), ("127.0.0.1:7420", "127.0.0.1:7420"), ("[::1]:7420", "[::1]:7420"),
    ("localhost:1", "localhost:1"),
  ])
  func parses(_ text: String, _ expected: String) throws {
    #expect(try #require(ConnectionTarget(parsing: text)).description == expected)
  }

  @Test(arguments: ["unix:", "unix://", "host", "host:0", "host:65536", ":7420", "host:port"])
  func refuses(_ text: String) {
    #expect(ConnectionTarget(parsing: text) == nil)
  }
}

@Suite("Connect failures")
struct ConnectFailureTests {
  @Test("a refused or missing server is UNAVAILABLE with the system's reason, not NIO's internals")
  func readableReasons() async throws {
    let missing = "/tmp/agentcube-no-such-\(UInt32.random(in: 0...UInt32.max)).sock"
    let error = await #expect(throws: RPCError.self) {
      _ = try await ClientConnection.connect(to: .unixSocket(path: missing))
    }
    #expect(error?.code == .unavailable)
    #expect(error?.message == "cannot connect to unix:\(missing): No such file or directory")
    // Port 1 on loopback: nothing listens (and nothing may, without root and a reason).
    let refused = await #expect(throws: RPCError.self) {
      _ = try await ClientConnection.connect(to: .tcp(host: "127.0.0.1", port: 1))
    }
    #expect(refused?.message.hasSuffix(": Connection refused") == true, "\(refused?.message ?? "")")
    #expect(refused?.message.contains("SingleConnectionFailure") == false)
  }
}
