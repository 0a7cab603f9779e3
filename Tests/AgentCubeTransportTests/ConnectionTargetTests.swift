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
