import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Testing

@Suite struct ConnectionTests {
  private func request(_ method: MethodDescriptor, _ text: String = "") throws -> WireRequest {
    WireRequest(method: method.fullName, message: try HealthCheckRequest(service: text).protobufBytes())
  }

  private func withServer(
    maxConcurrentCalls: Int = 100, _ body: (RouterServer, Probe) async throws -> Void
  ) async throws {
    try await RouterServer.withTestMethods(maxConcurrentCalls: maxConcurrentCalls, body)
  }

  @Test func unknownMethodIsUnimplemented() async throws {
    try await withServer { server, _ in
      let connection = try await server.connect()
      let response = try await connection.unary(WireRequest(method: "/no.Such/Method"))
      #expect(response.code == .unimplemented)
      #expect(response.statusMessage.contains("/no.Such/Method"))
      await connection.close()
    }
  }

  @Test func answersOneHundredConcurrentCallsOnOneConnection() async throws {
    try await withServer { server, _ in
      let connection = try await server.connect()
      try await withThrowingTaskGroup(of: (Int, String).self) { group in
        for index in 0..<100 {
          group.addTask {
            let response = try await connection.unary(try request(TestMethods.echo, "call-\(index)"))
            #expect(response.code == .ok)
            return (index, try HealthCheckResponse(protobuf: response.message).version)
          }
        }
        var seen = Set<Int>()
        for try await (index, echoed) in group {
          #expect(echoed == "call-\(index)")
          seen.insert(index)
        }
        #expect(seen.count == 100)
      }
      await connection.close()
    }
  }

  @Test func callsBeyondTheLimitAreResourceExhausted() async throws {
    try await withServer(maxConcurrentCalls: 2) { server, probe in
      let connection = try await server.connect()
      let blocked = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
          for _ in 0..<2 { group.addTask { _ = try await connection.unary(try request(TestMethods.block)) } }
          try await group.waitForAll()
        }
      }
      #expect(try await probe.next() == "started")
      #expect(try await probe.next() == "started")
      let third = try await connection.unary(try request(TestMethods.echo, "x"))
      #expect(third.code == .resourceExhausted)
      blocked.cancel()
      await connection.close()
    }
  }

  @Test func deadlineEndsTheCallAndCancelsTheHandler() async throws {
    try await withServer { server, probe in
      // A raw client, so that only the server's timer can end the call.
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var wire = try request(TestMethods.block)
      wire.timeoutMicros = 200_000
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .request, callID: 1, message: wire)
      try await raw.send(bytes)
      _ = try await raw.readPreface()
      #expect(try await raw.readFrame()?.type == .settings)
      let response = try #require(try await raw.readFrame())
      #expect(response.callID == 1)
      #expect(try WireResponse(payload: response.payload).code == .deadlineExceeded)
      #expect(try await probe.next() == "started")
      #expect(try await probe.next() == "cancelled")
      await raw.close()
    }
  }

  @Test func clientDeadlineFailsTheCallAndCancelsIt() async throws {
    try await withServer { server, probe in
      let connection = try await server.connect()
      // Both sides know the deadline: the client's own timer (an error thrown here) or the server's
      // (a DEADLINE_EXCEEDED answer) may end the call first, and on a loaded machine either does.
      let code: StatusCode
      do {
        code = try await connection.unary(try request(TestMethods.block), deadline: .now + .milliseconds(300)).code
      } catch let error as RPCError {
        code = error.code
      }
      #expect(code == .deadlineExceeded)
      #expect(try await probe.next() == "started")
      #expect(try await probe.next() == "cancelled")
      await connection.close()
    }
  }

  @Test func clientCancellationStopsTheHandler() async throws {
    try await withServer { server, probe in
      let connection = try await server.connect()
      let call = Task { try await connection.unary(try request(TestMethods.block)) }
      #expect(try await probe.next() == "started")
      call.cancel()
      await #expect(throws: RPCError(code: .cancelled, message: "call cancelled")) { try await call.value }
      #expect(try await probe.next() == "cancelled")
      // The connection goes on serving.
      #expect(try await connection.unary(try request(TestMethods.echo, "after")).code == .ok)
      await connection.close()
    }
  }

  @Test func malformedRequestPayloadFailsOnlyThatCall() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var bytes = ByteBuffer()
      bytes.writeFrame(Frame(type: .request, callID: 1, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])))
      try bytes.writeFrame(type: .request, callID: 3, message: try request(TestMethods.echo, "still here"))
      try await raw.send(bytes)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      let first = try #require(try await raw.readFrame())
      #expect(first.callID == 1)
      #expect(try WireResponse(payload: first.payload).code == .invalidArgument)
      let second = try #require(try await raw.readFrame())
      #expect(second.callID == 3)
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: second.payload).message).version == "still here")
      await raw.close()
    }
  }

  @Test func garbagePrefaceGetsGoAwayAndClose() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.send(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x10, 0, 0, 0]))
      // Its preface first, as always, then the GOAWAY (no SETTINGS).
      #expect(try await raw.readPreface() == .preface(version: 1))
      let frame = try #require(try await raw.readFrame())
      #expect(frame.type == .goAway)
      #expect(try WireGoAway(payload: frame.payload).message.contains("preface"))
      #expect(try await raw.readFrame() == nil)
    }
  }

  @Test func httpGetsAPlainTextAnswer() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.send(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
      var answer = try await raw.readToEnd()
      let text = answer.readString(length: answer.readableBytes) ?? ""
      #expect(text.hasPrefix("HTTP/1.0 400"))
      #expect(text.contains("AgentCube protocol"))
    }
  }

  @Test func oversizeFrameIsRefusedBeforeItsPayloadIsSent() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var length = ByteBuffer()
      length.writeInteger(UInt32(0xFFFF_FF00))  // Announce ~4 GiB and send none of it.
      try await raw.send(length)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      let goAway = try #require(try await raw.readFrame())
      #expect(goAway.type == .goAway)
      #expect(try WireGoAway(payload: goAway.payload).code == .resourceExhausted)
      #expect(try await raw.readFrame() == nil)
    }
  }

  @Test func truncatedFrameThenCloseLeavesNoCall() async throws {
    try await withServer { server, probe in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .request, callID: 1, message: try request(TestMethods.block))
      try await raw.send(bytes.getSlice(at: 0, length: bytes.readableBytes - 2)!)
      await raw.close()
      // A whole call on a new connection still works and the truncated one never started.
      let connection = try await server.connect()
      #expect(try await connection.unary(try request(TestMethods.echo, "ok")).code == .ok)
      await #expect(throws: TimedOut.self) { _ = try await probe.next(timeout: .milliseconds(200)) }
      await connection.close()
    }
  }

  @Test func pingIsAnswered() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var bytes = ByteBuffer()
      bytes.writeFrame(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
      try await raw.send(bytes)
      _ = try await raw.readPreface()
      #expect(try await raw.readFrame()?.type == .settings)
      let pong = try #require(try await raw.readFrame())
      #expect(pong.type == .ping)
      #expect(pong.flags == Frame.pingAckFlag)
      #expect(Array(pong.payload.readableBytesView) == [1, 2, 3, 4, 5, 6, 7, 8])
      await raw.close()
    }
  }

  @Test func shutdownAnswersCallsInFlightThenRefusesNewOnes() async throws {
    let probe = Probe()
    let server = try await RouterServer.start { TestMethods.register(on: &$0, probe: probe) }
    let connection = try await server.connect()
    let slow = Task { try await connection.unary(try request(TestMethods.block, "1")) }
    #expect(try await probe.next() == "started")
    await server.stop()
    let response = try await slow.value
    #expect(response.code == .ok)
    #expect(try HealthCheckResponse(protobuf: response.message).version == "finished")
    await #expect(throws: RPCError.self) { _ = try await server.connect() }
  }
}

@Suite struct EnvelopeLimitTests {
  @Test func metadataFloodsAreRefusedBeforeDecoding() async throws {
    let probe = Probe()
    let server = try await RouterServer.start { TestMethods.register(on: &$0, probe: probe) }
    let connection = try await server.connect()
    var many = Metadata()
    for index in 0..<65 { many.add("k\(index)", "v") }
    let flood = try await connection.unary(WireRequest(method: TestMethods.echo.fullName, metadata: many))
    #expect(flood.code == .resourceExhausted)
    var large = Metadata()
    large.add("big", String(repeating: "x", count: 17 * 1024))
    let big = try await connection.unary(WireRequest(method: TestMethods.echo.fullName, metadata: large))
    #expect(big.code == .resourceExhausted)
    var fine = Metadata()
    for index in 0..<64 { fine.add("k\(index)", "v") }
    let ok = try await connection.unary(WireRequest(method: TestMethods.echo.fullName, metadata: fine, message: try HealthCheckRequest().protobufBytes()))
    #expect(ok.code == .ok)
    await connection.close()
    await server.stop()
  }
}
