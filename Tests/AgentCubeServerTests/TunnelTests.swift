import AgentCube
import AgentCubeCrypto
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import Foundation
import Logging
import NIOCore
import Testing

@Suite struct TunnelTests {
  private func echoSession(_ server: TestServer) async throws -> Session {
    try await server.client(token: TestServer.Token.alice).sessions.createSession(.init(image: "echo", ttlSeconds: 300)).session
  }

  @Test func bytesGoBothWaysAndHalfCloseIsPassedOn() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let before = Int64(Date().timeIntervalSince1970 * 1000)
      let alice = server.client(token: TestServer.Token.alice).sessions
      _ = try await alice.getSession(.init(sessionID: session.id))
      let connections = server.server.connectionCount
      let echoed = try await alice.withTunnel(sessionID: session.id) { tunnel in
        #expect(tunnel.target == "\(session.name):7000")
        try await tunnel.outbound.write(ByteBuffer(string: "hello through the tunnel\n"))
        tunnel.outbound.finish()  // cat sees end of input, answers, then closes its side.
        var received = ByteBuffer()
        for try await var chunk in tunnel.inbound { received.writeBuffer(&chunk) }
        return received.readString(length: received.readableBytes) ?? ""
      }
      #expect(echoed == "hello through the tunnel\n")
      let after = try await alice.getSession(.init(sessionID: session.id)).session
      #expect(after.lastActivityAtMs >= before)
      try await eventually("the tunnel's connection closed") { server.server.connectionCount == connections }
    }
  }

  @Test("a caller at its tunnel quota gets RESOURCE_EXHAUSTED; a closed tunnel gives its place back; others are not affected")
  func tunnelQuota() async throws {
    var policy = SessionPolicy.defaults
    policy.minTTLSeconds = 1
    policy.defaultImage = "echo"
    policy.maxTunnelsPerIdentity = 1
    let log = LogRecorder()
    try await TestServer.with(policy: policy, logger: log.logger()) { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      let bob = server.client(token: TestServer.Token.bob).sessions
      let bobs = try await bob.createSession(.init(image: "echo", ttlSeconds: 300)).session
      try await alice.withTunnel(sessionID: session.id) { _ in
        let refused = await #expect(throws: RPCError.self) {
          try await alice.withTunnel(sessionID: session.id) { _ in }
        }
        #expect(refused?.code == .resourceExhausted)
        #expect(refused?.message == "tunnel quota reached: 1 open tunnels per caller; close one or retry after one ends")
        try await bob.withTunnel(sessionID: bobs.id) { _ in }
      }
      // The place comes back when the server sees the tunnel end, on its own loop: retry, bounded.
      try await eventually("a tunnel opened after the first one closed") {
        do {
          try await alice.withTunnel(sessionID: session.id) { _ in }
          return true
        } catch let error as RPCError where error.code == .resourceExhausted {
          return false
        }
      }
      let warning = log.entries.first { $0.level == .warning && $0.metadata["limit"] == "tunnels-per-identity" }
      #expect(warning?.metadata["identity"] == "system:serviceaccount:team-a:alice")
      #expect(!log.entries.contains { $0.text.contains(TestServer.Token.alice) })
    }
  }

  @Test("a tunnel gets no keepalive: quiet for longer than interval + timeout, it is open and carries only its bytes")
  func tunnelsHaveNoKeepalive() async throws {
    var connection = ServerConnectionConfiguration.forTests
    connection.keepaliveInterval = .milliseconds(100)
    connection.keepaliveTimeout = .seconds(2)
    try await TestServer.with(connection: connection) { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      let echoed = try await alice.withTunnel(sessionID: session.id) { tunnel in
        // The quiet time is what is tested: a framed connection that did not answer would have been
        // PINGed at once and closed within 2.1 s.
        try await Task.sleep(for: .seconds(3))
        try await tunnel.outbound.write(ByteBuffer(string: "still open\n"))
        tunnel.outbound.finish()
        var received = ByteBuffer()
        for try await var chunk in tunnel.inbound { received.writeBuffer(&chunk) }
        return received.readString(length: received.readableBytes) ?? ""
      }
      #expect(echoed == "still open\n", "no PING bytes in the stream, no early close")
    }
  }

  @Test func bytesSentRightAfterTheRequestAreNotLost() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let connection = try await ClientConnection.connect(to: .unixSocket(path: server.socketPath))
      var metadata = Metadata()
      metadata.add("authorization", "Bearer \(TestServer.Token.alice)")
      let request = WireRequest(
        method: MethodDescriptor.SessionService.openTunnel.fullName, metadata: metadata,
        message: try OpenTunnelRequest(sessionID: session.id).protobufBytes())
      // Write the request frame and tunnel bytes in one write, before any answer.
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      var bytes = ByteBuffer()
      Preface.write(into: &bytes)
      try bytes.writeFrame(type: .request, callID: 1, message: request)
      bytes.writeString("early bytes\n")
      try await raw.send(bytes)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      let answer = try #require(try await raw.readFrame())
      #expect(try WireResponse(payload: answer.payload).code == .ok)
      var echoed = try await raw.read(atLeast: 12)
      #expect(echoed.readString(length: echoed.readableBytes) == "early bytes\n")
      await raw.close()
      await connection.close()
    }
  }

  @Test func refusedTunnels() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      let unknown = await #expect(throws: RPCError.self) {
        try await alice.withTunnel(sessionID: UUID().uuidString) { _ in }
      }
      #expect(unknown?.code == .notFound)
      let closedPort = await #expect(throws: RPCError.self) {
        try await alice.withTunnel(sessionID: session.id, port: 7001) { _ in }
      }
      #expect(closedPort?.code == .unavailable)
      #expect(closedPort?.message.contains("port 7001 of session \(session.id)") == true)
      let badPort = await #expect(throws: RPCError.self) {
        try await alice.withTunnel(sessionID: session.id, port: 70000) { _ in }
      }
      #expect(badPort?.code == .invalidArgument)
    }
  }

  @Test func aTunnelWithOtherCallsInFlightIsRefused() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      var metadata = Metadata()
      metadata.add("authorization", "Bearer \(TestServer.Token.alice)")
      let create = WireRequest(
        method: MethodDescriptor.SessionService.createSession.fullName, metadata: metadata,
        message: try CreateSessionRequest(image: "echo", ttlSeconds: 60).protobufBytes())
      let tunnel = WireRequest(
        method: MethodDescriptor.SessionService.openTunnel.fullName, metadata: metadata,
        message: try OpenTunnelRequest(sessionID: session.id).protobufBytes())
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      var bytes = ByteBuffer()
      Preface.write(into: &bytes)
      try bytes.writeFrame(type: .request, callID: 1, message: create)
      try bytes.writeFrame(type: .request, callID: 3, message: tunnel)
      try await raw.send(bytes)
      _ = try await raw.readPreface()
      #expect(try await raw.readFrame()?.type == .settings)
      var answers: [UInt32: StatusCode] = [:]
      while let frame = try await raw.readFrame(timeout: .seconds(30)) {
        if frame.type == .response { answers[frame.callID] = try WireResponse(payload: frame.payload).code }
      }
      // The tunnel is refused, the call in flight is still answered, then the connection ends.
      #expect(answers == [3: .failedPrecondition, 1: .ok])
    }
  }

  @Test func deletingTheSessionClosesItsTunnel() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      _ = try await alice.getSession(.init(sessionID: session.id))
      let connections = server.server.connectionCount
      try await alice.withTunnel(sessionID: session.id) { tunnel in
        try await tunnel.outbound.write(ByteBuffer(string: "ping\n"))
        try await withTimeout(.seconds(20), "tunnel end after delete") {
          var iterator = tunnel.inbound.makeAsyncIterator()
          _ = try await iterator.next()
          _ = try await alice.deleteSession(.init(sessionID: session.id))
          while try await iterator.next() != nil {}
        }
      }
      try await eventually("no tunnel connection left") { server.server.connectionCount == connections }
    }
  }

  @Test func aSandboxKilledMidTransferEndsTheTunnelPromptly() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let record = try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: "\(server.stateDirectory)/sessions/\(session.id).json")))
      let pid = try #require(((record as? [String: Any])?["process"] as? [String: Any])?["pid"] as? Int32)
      let alice = server.client(token: TestServer.Token.alice).sessions
      _ = try await alice.getSession(.init(sessionID: session.id))
      let connections = server.server.connectionCount
      try await alice.withTunnel(sessionID: session.id) { tunnel in
        let block = ByteBuffer(repeating: 0x5A, count: 64 * 1024)
        try await tunnel.outbound.write(block)
        try await withTimeout(.seconds(20), "tunnel end after the sandbox died") {
          var iterator = tunnel.inbound.makeAsyncIterator()
          _ = try await iterator.next()
          #expect(kill(-pid, SIGKILL) == 0)
          // What matters is that the inbound side ends promptly, cleanly or with an error.
          do {
            while try await iterator.next() != nil {}
          } catch {}
        }
      }
      try await eventually("server keeps no connection for the dead tunnel") {
        server.server.connectionCount == connections
      }
    }
  }

  @Test func aLargeTransferBothWaysAtOnceArrivesByteIdentical() async throws {
    try await TestServer.with { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      let total = 256 * 1024 * 1024
      let blockSize = 1024 * 1024
      var generator = SystemRandomNumberGenerator()
      var block = [UInt8](repeating: 0, count: blockSize)
      for index in stride(from: 0, to: blockSize, by: 8) {
        withUnsafeBytes(of: generator.next() as UInt64) { block.replaceSubrange(index..<index + 8, with: $0) }
      }
      let template = block
      let (sentDigest, receivedDigest, receivedCount) = try await alice.withTunnel(sessionID: session.id) { tunnel in
        try await withThrowingTaskGroup(of: ([UInt8], Int).self) { group in
          group.addTask {
            var hash = SHA256()
            var block = template
            for index in 0..<(total / blockSize) {
              withUnsafeBytes(of: UInt64(index)) { block.replaceSubrange(0..<8, with: $0) }  // No two blocks alike.
              hash.update(block)
              try await tunnel.outbound.write(ByteBuffer(bytes: block))
            }
            tunnel.outbound.finish()
            return (hash.finalize(), -1)
          }
          group.addTask {
            var hash = SHA256()
            var count = 0
            for try await chunk in tunnel.inbound {
              chunk.withUnsafeReadableBytes { hash.update($0) }
              count += chunk.readableBytes
            }
            return (hash.finalize(), count)
          }
          var sent: [UInt8] = []
          var received: [UInt8] = []
          var count = 0
          for try await (digest, bytes) in group {
            if bytes < 0 { sent = digest } else { (received, count) = (digest, bytes) }
          }
          return (sent, received, count)
        }
      }
      #expect(receivedCount == total)
      #expect(receivedDigest == sentDigest)
    }
  }

  @Test func stoppingTheServerClosesTunnelsAfterTheDrainGrace() async throws {
    try await TestServer.with(drainGrace: .milliseconds(500)) { server in
      let session = try await echoSession(server)
      let alice = server.client(token: TestServer.Token.alice).sessions
      try await alice.withTunnel(sessionID: session.id) { tunnel in
        try await tunnel.outbound.write(ByteBuffer(string: "ping\n"))
        try await withTimeout(.seconds(30), "tunnel end after server stop") {
          var iterator = tunnel.inbound.makeAsyncIterator()
          _ = try await iterator.next()
          let start = ContinuousClock.now
          async let stopped: Void = server.server.shutdown()
          // An idle tunnel is not a call in flight: it stays open through the grace, then closes.
          while try await iterator.next() != nil {}
          #expect(ContinuousClock.now - start >= .milliseconds(400))
          await stopped
        }
      }
    }
  }
}
