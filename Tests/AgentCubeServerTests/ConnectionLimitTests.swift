import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import Glibc
import NIOCore
import Testing

/// Connection limits (per peer and in all) and the peer's credentials on the Unix socket.
@Suite struct ConnectionLimitTests {
  /// Opens a connection and reads what the server sends first: its preface, then SETTINGS (let
  /// in) or GOAWAY (refused).
  private func open(_ server: RouterServer) async throws -> (RawConnection, Frame) {
    let raw = try await RawConnection.connect(unixSocket: server.socketPath)
    try? await raw.sendPreface()  // a refusing server may have finished with the connection already
    #expect(try await raw.readPreface() == .preface(version: 1))
    return (raw, try #require(try await raw.readFrame()))
  }

  @Test("over the per-peer limit a connection gets GOAWAY RESOURCE_EXHAUSTED saying why; a closed one frees its place")
  func perPeerLimit() async throws {
    try await RouterServer.withTestMethods(transport: { $0.maxConnectionsPerPeer = 2 }) { server, _ in
      let (first, firstOpening) = try await open(server)
      let (second, secondOpening) = try await open(server)
      #expect(firstOpening.type == .settings && secondOpening.type == .settings)
      let (third, refusal) = try await open(server)
      #expect(refusal.type == .goAway)
      let goAway = try WireGoAway(payload: refusal.payload)
      #expect(goAway.code == .resourceExhausted)
      #expect(goAway.message.contains("too many connections from uid \(getuid())") && goAway.message.contains("limit 2"))
      #expect(try await third.readFrame() == nil, "closed after the GOAWAY")
      await third.close()
      await first.close()
      // The server notices the close on its own loop: try until a place is free (bounded).
      var admitted = false
      for _ in 0..<200 where !admitted {
        let (next, opening) = try await open(server)
        admitted = opening.type == .settings
        await next.close()
        if !admitted { try await Task.sleep(for: .milliseconds(10)) }
      }
      #expect(admitted, "a place freed by a close is given again")
      await second.close()
    }
  }

  @Test("the server's connection limit refuses one more, whoever it comes from")
  func totalLimit() async throws {
    try await RouterServer.withTestMethods(transport: { $0.maxConnections = 1 }) { server, _ in
      let (first, opening) = try await open(server)
      #expect(opening.type == .settings)
      let (second, refusal) = try await open(server)
      #expect(refusal.type == .goAway)
      #expect(try WireGoAway(payload: refusal.payload).message.contains("the server's limit is 1"))
      await second.close()
      await first.close()
    }
  }

  @Test("a call over the Unix socket knows the peer's pid, uid and gid (SO_PEERCRED)")
  func peerCredentials() async throws {
    try await RouterServer.withTestMethods { server, _ in
      let connection = try await server.connect()
      let response = try await connection.unary(
        WireRequest(method: TestMethods.peer.fullName, message: try HealthCheckRequest().protobufBytes()))
      #expect(response.code == .ok)
      let answer = try HealthCheckResponse(protobuf: response.message).version
      #expect(answer == "\(getpid()) \(getuid()) \(getgid())")
      await connection.close()
    }
  }
}

/// PINGs: answered, but a flood is a violation.
@Suite struct PingAbuseTests {
  @Test("PINGs faster than the minimum interval: a few are answered, then GOAWAY RESOURCE_EXHAUSTED")
  func pingFlood() async throws {
    try await RouterServer.withTestMethods(connection: { $0.minPingInterval = .seconds(60) }) { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var pings = ByteBuffer()
      for index in 0..<6 {
        pings.writeFrame(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [UInt8](repeating: UInt8(index), count: 8))))
      }
      try await raw.send(pings)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      var acks = 0
      var goAway: WireGoAway?
      while let frame = try await raw.readFrame() {
        if frame.type == .ping { acks += 1 }
        if frame.type == .goAway { goAway = try WireGoAway(payload: frame.payload) }
      }
      // The first, then 3 strikes tolerated: 4 answered; the 5th is one too many.
      #expect(acks == 4)
      #expect(goAway?.code == .resourceExhausted && goAway?.message.contains("too many pings") == true)
      await raw.close()
    }
  }
}
