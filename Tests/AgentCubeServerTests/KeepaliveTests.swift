import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Testing

/// Server keepalive: a quiet connection gets a PING; one that answers nothing is closed and its
/// calls cancelled; one that answers stays open; the ACKs do not keep an idle connection open.
@Suite struct KeepaliveTests {
  private func readOpening(_ raw: RawConnection) async throws {
    #expect(try await raw.readPreface() == .preface(version: 1))
    #expect(try await raw.readFrame()?.type == .settings)
  }

  private func request(_ method: MethodDescriptor, _ text: String) throws -> ByteBuffer {
    var bytes = ByteBuffer()
    try bytes.writeFrame(
      type: .request, callID: 1,
      message: WireRequest(method: method.fullName, message: try HealthCheckRequest(service: text).protobufBytes()))
    return bytes
  }

  private func ack(_ ping: Frame) -> ByteBuffer {
    var bytes = ByteBuffer()
    bytes.writeFrame(Frame(type: .ping, flags: Frame.pingAckFlag, callID: 0, payload: ping.payload))
    return bytes
  }

  @Test("a peer that never answers a keepalive PING gets GOAWAY DEADLINE_EXCEEDED and is closed; its call is cancelled")
  func silentPeerIsClosed() async throws {
    try await RouterServer.withTestMethods(connection: {
      $0.keepaliveInterval = .milliseconds(200)
      $0.keepaliveTimeout = .milliseconds(200)
    }) { server, probe in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      // A long call, sent with the preface (the client's last bytes): the idle timer does not run,
      // so only keepalive can find the peer gone.
      var bytes = ByteBuffer()
      Preface.write(version: 1, into: &bytes)
      bytes.writeImmutableBuffer(try request(TestMethods.block, "60"))
      try await raw.send(bytes)
      try await readOpening(raw)
      #expect(try await probe.next() == "started")
      let ping = try #require(try await raw.readFrame())
      #expect(ping.type == .ping && ping.flags & Frame.pingAckFlag == 0 && ping.callID == 0)
      #expect(ping.payload.readableBytes == 8)
      let goAway = try #require(try await raw.readFrame())
      #expect(goAway.type == .goAway)
      let decoded = try WireGoAway(payload: goAway.payload)
      #expect(decoded.code == .deadlineExceeded && decoded.message.contains("keepalive") && decoded.lastCallID == 1)
      #expect(try await raw.readFrame() == nil, "closed after the GOAWAY")
      #expect(try await probe.next() == "cancelled")
      await raw.close()
      try await eventually("the server released the connection") { server.transport.connectionCount == 0 }
    }
  }

  @Test("a peer that ACKs each keepalive PING gets the next one and keeps a working connection")
  func ackingPeerStaysOpen() async throws {
    // A generous timeout: the next PING can only come if the server took the ACK as an answer.
    try await RouterServer.withTestMethods(connection: {
      $0.keepaliveInterval = .milliseconds(100)
      $0.keepaliveTimeout = .seconds(30)
    }) { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      try await readOpening(raw)
      var payloads: [ByteBuffer] = []
      for _ in 0..<4 {
        let ping = try #require(try await raw.readFrame())
        #expect(ping.type == .ping && ping.flags & Frame.pingAckFlag == 0)
        payloads.append(ping.payload)
        try await raw.send(ack(ping))
      }
      #expect(Set(payloads).count == 4, "each PING carries a payload of its own")
      try await raw.send(try request(TestMethods.echo, "still here"))
      var answer = try #require(try await raw.readFrame())
      while answer.type == .ping {  // a PING may come before the answer
        try await raw.send(ack(answer))
        answer = try #require(try await raw.readFrame())
      }
      #expect(answer.type == .response && answer.callID == 1)
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: answer.payload).message).version == "still here")
      #expect(server.transport.connectionCount == 1)
      await raw.close()
    }
  }

  @Test("answering keepalive PINGs does not keep an idle connection open: GOAWAY OK after the idle timeout")
  func acksAreNotActivity() async throws {
    try await RouterServer.withTestMethods(connection: {
      $0.idleTimeout = .seconds(3)
      $0.keepaliveInterval = .milliseconds(100)
      $0.keepaliveTimeout = .seconds(30)
      $0.prefaceTimeout = .seconds(60)  // only idleness may end this connection
    }) { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      try await readOpening(raw)
      var pings = 0
      var goAway: WireGoAway?
      // 3 s of idleness is about 30 PINGs; 200 means the ACKs kept the connection open. (A test
      // starved for the whole idle time answers no PING and shows nothing, but does not fail.)
      while goAway == nil, pings < 200, let frame = try await raw.readFrame() {
        switch frame.type {
        case .ping:
          pings += 1
          try? await raw.send(ack(frame))  // the server may have closed already: its GOAWAY is next
        case .goAway:
          goAway = try WireGoAway(payload: frame.payload)
        default:
          Issue.record("unexpected \(frame.type) frame")
        }
      }
      #expect(pings >= 1, "keepalive ran while the connection was idle")
      #expect(goAway?.code == .ok && goAway?.message.contains("idle") == true, "\(String(describing: goAway))")
      #expect(try await raw.readFrame() == nil)
      await raw.close()
    }
  }

  @Test("the SDK's connection answers keepalive PINGs: a call longer than interval + timeout completes")
  func sdkConnectionAnswersKeepalive() async throws {
    // Unanswered, the connection would be closed 2.1 s in; the call takes 5 s (dozens of rounds).
    try await RouterServer.withTestMethods(connection: {
      $0.keepaliveInterval = .milliseconds(100)
      $0.keepaliveTimeout = .seconds(2)
    }) { server, _ in
      let connection = try await server.connect()
      let response = try await connection.unary(
        WireRequest(method: TestMethods.block.fullName, message: try HealthCheckRequest(service: "5").protobufBytes()))
      #expect(response.code == .ok)
      #expect(try HealthCheckResponse(protobuf: response.message).version == "finished")
      await connection.close()
      try await eventually("the server released the connection") { server.transport.connectionCount == 0 }
    }
  }
}
