import AgentCube
import AgentCubeTestSupport
import NIOCore
import Testing

@Suite struct TunnelTests {
  @Test func bytesGoBothWaysAndHalfCloseIsPassedOn() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let session = try await alice.createSession(.init(image: "echo", ttlSeconds: 120)).session
      let echoed = try await alice.withTunnel(sessionID: session.id) { tunnel in
        #expect(tunnel.target == "\(session.address):7000")
        try await tunnel.outbound.write(ByteBuffer(string: "hello through the tunnel\n"))
        tunnel.outbound.finish()  // cat sees end of input, answers, then closes its side.
        var received = ByteBuffer()
        for try await var chunk in tunnel.inbound { received.writeBuffer(&chunk) }
        return received.readString(length: received.readableBytes) ?? ""
      }
      #expect(echoed == "hello through the tunnel\n")
    }
  }
}
