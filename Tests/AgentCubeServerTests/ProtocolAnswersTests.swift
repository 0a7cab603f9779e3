import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Testing

/// The wire-level answers `docs/protocol.md` gives to a client author's questions, each as the
/// server behaves, from a raw socket.
@Suite struct ProtocolAnswersTests {
  private func request(_ method: MethodDescriptor, _ text: String = "") throws -> WireRequest {
    WireRequest(method: method.fullName, message: try HealthCheckRequest(service: text).protobufBytes())
  }

  @Test("the server's first 8 bytes are its preface even when it refuses: garbage, or no common version")
  func prefaceBeforeEveryGoAway() async throws {
    try await RouterServer.withTestMethods { server, _ in
      for (sent, code) in [(Array("NOTACUBE".utf8), StatusCode.invalidArgument), (Preface.magic + [0, 0], .failedPrecondition)] {
        let raw = try await RawConnection.connect(unixSocket: server.socketPath)
        try await raw.send(ByteBuffer(bytes: sent))
        #expect(try await raw.readPreface() == .preface(version: 1))
        let goAway = try #require(try await raw.readFrame())
        #expect(goAway.type == .goAway)
        #expect(try WireGoAway(payload: goAway.payload).code == code)
        #expect(try await raw.readFrame() == nil)
        await raw.close()
      }
    }
  }

  @Test("SETTINGS is optional and may come again: calls work without one, a later one applies")
  func settingsOptionalAndRepeatable() async throws {
    try await RouterServer.withTestMethods { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .request, callID: 1, message: try request(TestMethods.echo, "no settings"))
      try await raw.send(bytes)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      let first = try #require(try await raw.readFrame())
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: first.payload).message).version == "no settings")

      var later = ByteBuffer()
      try later.writeFrame(type: .settings, callID: 0, message: WireSettings(maxFrameSize: 16384))
      try later.writeFrame(type: .request, callID: 2, message: try request(TestMethods.echo, "after settings"))
      try await raw.send(later)
      let second = try #require(try await raw.readFrame())
      #expect(second.callID == 2)
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: second.payload).message).version == "after settings")
      await raw.close()
    }
  }

  @Test("a PING or ACK of another size than 8 bytes is a violation: GOAWAY INVALID_ARGUMENT", arguments: [0, 7, 9, 64])
  func pingPayloadSize(size: Int) async throws {
    try await RouterServer.withTestMethods { server, _ in
      for flags: UInt8 in [0, Frame.pingAckFlag] {
        let raw = try await RawConnection.connect(unixSocket: server.socketPath)
        try await raw.sendPreface()
        #expect(try await raw.readPreface() == .preface(version: 1))
        #expect(try await raw.readFrame()?.type == .settings)
        var bytes = ByteBuffer()
        bytes.writeFrame(Frame(type: .ping, flags: flags, callID: 0, payload: ByteBuffer(repeating: 1, count: size)))
        try await raw.send(bytes)
        let goAway = try #require(try await raw.readFrame())
        #expect(goAway.type == .goAway)
        let message = try WireGoAway(payload: goAway.payload)
        #expect(message.code == .invalidArgument && message.message == "a PING carries exactly 8 bytes, not \(size)")
        #expect(try await raw.readFrame() == nil)
        await raw.close()
      }
    }
  }

  @Test("after the client's GOAWAY: a new REQUEST is UNAVAILABLE, the call in flight goes on; its end ends the connection")
  func requestAfterClientGoAway() async throws {
    try await RouterServer.withTestMethods { server, probe in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      // A call that stays in flight until cancelled: the connection cannot close under the test.
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .request, callID: 1, message: try request(TestMethods.block, "600"))
      try await raw.send(bytes)
      #expect(try await probe.next() == "started")
      var after = ByteBuffer()
      try after.writeFrame(type: .goAway, callID: 0, message: WireGoAway(lastCallID: 0, code: .ok, message: "done"))
      try after.writeFrame(type: .request, callID: 3, message: try request(TestMethods.echo, "too late"))
      try await raw.send(after)
      let answer = try #require(try await raw.readFrame())
      #expect(answer.type == .response && answer.callID == 3)
      #expect(try WireResponse(payload: answer.payload).code == .unavailable)
      // Call 1 is still in flight; once it ends (here: cancelled, so no RESPONSE), the server closes.
      var cancel = ByteBuffer()
      cancel.writeFrame(Frame(type: .cancel, callID: 1, payload: ByteBuffer()))
      try await raw.send(cancel)
      #expect(try await probe.next() == "cancelled")
      #expect(try await raw.readFrame() == nil)
      await raw.close()
    }
  }
}
