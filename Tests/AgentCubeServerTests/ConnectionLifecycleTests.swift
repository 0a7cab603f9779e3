import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Foundation
import Glibc
import Testing

/// Every state of a server connection ends: a half-sent preface, no preface, an idle connection,
/// a frame that trickles in, a violation with calls in flight, a half-closed peer. Each test sees
/// the server close the connection (the end of the stream at the client: its descriptor is gone).
@Suite struct ConnectionLifecycleTests {
  private func withServer(
    _ configure: (inout ServerConnectionConfiguration) -> Void = { _ in },
    _ body: (RouterServer, Probe) async throws -> Void
  ) async throws {
    try await RouterServer.withTestMethods(connection: configure, body)
  }

  private func request(_ method: MethodDescriptor, _ text: String = "") throws -> WireRequest {
    WireRequest(method: method.fullName, message: try HealthCheckRequest(service: text).protobufBytes())
  }

  /// Reads the server's preface and SETTINGS.
  private func readOpening(_ raw: RawConnection) async throws {
    #expect(try await raw.readPreface() == .preface(version: 1))
    #expect(try await raw.readFrame()?.type == .settings)
  }

  @Test("a peer that sends part of the preface, then FIN, is closed at once", arguments: [0, 4, 7])
  func halfSentPreface(bytes: Int) async throws {
    // A preface timeout far beyond the wait below: the end can only come from the FIN.
    try await withServer({ $0.prefaceTimeout = .seconds(600) }) { server, _ in
      var preface = ByteBuffer()
      Preface.write(version: 1, into: &preface)
      let answer = await HalfClosingClient.exchange(
        unixSocket: server.socketPath, send: Array(preface.readableBytesView.prefix(bytes)), timeout: .seconds(30))
      #expect(answer == [], "the server closed without answering")
    }
  }

  @Test("no preface within the preface timeout: closed")
  func prefaceTimeout() async throws {
    try await withServer({ $0.prefaceTimeout = .milliseconds(200) }) { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      let rest = try await raw.readToEnd(timeout: .seconds(20))
      #expect(rest.readableBytes == 0)
    }
  }

  @Test("a connection idle for the idle timeout gets GOAWAY (OK), then is closed; a call keeps it open")
  func idleTimeout() async throws {
    try await withServer({ $0.idleTimeout = .milliseconds(300) }) { server, probe in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      // A call that runs longer than the idle timeout, sent with the preface (the idle timer starts
      // with it): the connection is not idle meanwhile.
      var bytes = ByteBuffer()
      Preface.write(version: 1, into: &bytes)
      try bytes.writeFrame(type: .request, callID: 1, message: try request(TestMethods.block, "1"))
      try await raw.send(bytes)
      try await readOpening(raw)
      #expect(try await probe.next() == "started")
      let answer = try #require(try await raw.readFrame(timeout: .seconds(20)))
      #expect(answer.type == .response && answer.callID == 1)
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: answer.payload).message).version == "finished")
      let goAway = try #require(try await raw.readFrame(timeout: .seconds(20)))
      #expect(goAway.type == .goAway)
      let decoded = try WireGoAway(payload: goAway.payload)
      #expect(decoded.code == .ok && decoded.lastCallID == 1 && decoded.message.contains("idle"))
      #expect(try await raw.readFrame() == nil)
      await raw.close()
    }
  }

  @Test(
    "a frame that does not complete within the frame read timeout of its first byte: GOAWAY DEADLINE_EXCEEDED",
    arguments: ["header", "trickle"])
  func frameReadTimeout(shape: String) async throws {
    try await withServer({ $0.frameReadTimeout = .milliseconds(300) }) { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      try await readOpening(raw)
      var header = ByteBuffer()
      header.writeMultipleIntegers(UInt32(1 << 20), FrameType.request.rawValue, UInt8(0), UInt32(1))
      var trickle: Task<Void, any Error>?
      if shape == "header" {
        try await raw.send(header.getSlice(at: 0, length: 3)!)  // part of a header, then nothing
      } else {
        try await raw.send(header)  // 1 MiB announced, then a byte every 50 ms: not reset by bytes
        trickle = Task {
          for _ in 0..<100 {
            try? await raw.send(ByteBuffer(bytes: [0]))
            try await Task.sleep(for: .milliseconds(50))
          }
        }
      }
      defer { trickle?.cancel() }
      let goAway = try #require(try await raw.readFrame(timeout: .seconds(20)))
      #expect(goAway.type == .goAway)
      #expect(try WireGoAway(payload: goAway.payload).code == .deadlineExceeded)
      #expect(try await raw.readFrame(timeout: .seconds(20)) == nil)
      trickle?.cancel()
      await raw.close()
    }
  }

  @Test("after a protocol violation the calls up to the GOAWAY's last_call_id are still answered")
  func violationAnswersCoveredCalls() async throws {
    try await withServer { server, probe in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      try await readOpening(raw)
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .request, callID: 7, message: try request(TestMethods.block, "1"))
      try await raw.send(bytes)
      #expect(try await probe.next() == "started")
      var violation = ByteBuffer()
      violation.writeFrame(Frame(type: .response, callID: 9, payload: ByteBuffer()))  // clients never send RESPONSE
      try await raw.send(violation)
      // The GOAWAY and call 7's answer, in either order (the call may finish first on a loaded
      // machine), then the end.
      var goAway: WireGoAway?
      var answer: WireResponse?
      while let frame = try await raw.readFrame(timeout: .seconds(20)) {
        switch frame.type {
        case .goAway: goAway = try WireGoAway(payload: frame.payload)
        case .response where frame.callID == 7: answer = try WireResponse(payload: frame.payload)
        default: Issue.record("unexpected \(frame.type) frame")
        }
      }
      #expect(goAway?.lastCallID == 7 && goAway?.code == .invalidArgument, "\(String(describing: goAway))")
      #expect(answer?.code == .ok, "call 7 is covered by the GOAWAY: answered")
      await raw.close()
    }
  }

  @Test("a half-closed peer gets the answers to its calls, then the connection closes")
  func halfClosedPeerIsAnsweredThenClosed() async throws {
    try await withServer { server, _ in
      var bytes = ByteBuffer()
      Preface.write(version: 1, into: &bytes)
      try bytes.writeFrame(type: .request, callID: 1, message: try request(TestMethods.echo, "before FIN"))
      let answer = try #require(
        await HalfClosingClient.exchange(
          unixSocket: server.socketPath, send: Array(bytes.readableBytesView), timeout: .seconds(20)),
        "the server did not close the connection")
      var received = ByteBuffer(bytes: answer)
      #expect(Preface.parse(&received) == .preface(version: 1))
      let decoder = FrameDecoder()
      #expect(try decoder.next(from: &received)?.type == .settings)
      let response = try #require(try decoder.next(from: &received))
      #expect(try HealthCheckResponse(protobuf: WireResponse(payload: response.payload).message).version == "before FIN")
      #expect(received.readableBytes == 0)
    }
  }

  @Test("a max_frame_size below 16 KiB is a violation: GOAWAY INVALID_ARGUMENT")
  func tinyMaxFrameSize() async throws {
    try await withServer { server, _ in
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      try await raw.sendPreface()
      var bytes = ByteBuffer()
      try bytes.writeFrame(type: .settings, callID: 0, message: WireSettings(maxFrameSize: 20))
      try await raw.send(bytes)
      try await readOpening(raw)
      let goAway = try #require(try await raw.readFrame())
      #expect(goAway.type == .goAway)
      #expect(try WireGoAway(payload: goAway.payload).code == .invalidArgument)
      #expect(try await raw.readFrame() == nil)
    }
  }
}

/// A plain blocking Unix-socket client on a thread of its own: sends bytes, half-closes (FIN),
/// and reads until the server closes.
enum HalfClosingClient {
  /// Everything the server sent before closing, or `nil` when it did not close within `timeout`.
  static func exchange(unixSocket path: String, send bytes: [UInt8], timeout: Duration) async -> [UInt8]? {
    await withCheckedContinuation { continuation in
      Thread { continuation.resume(returning: run(path, bytes, timeout)) }.start()
    }
  }

  private static func run(_ path: String, _ bytes: [UInt8], _ timeout: Duration) -> [UInt8]? {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
    }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
      }
    }
    guard connected else { return nil }
    if !bytes.isEmpty { _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    shutdown(fd, Int32(SHUT_WR))
    let (seconds, attoseconds) = timeout.components
    var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n == 0 { return received }  // the server closed
      if n < 0 { return errno == EINTR ? nil : nil }  // timeout (EAGAIN) or error: not closed
      received.append(contentsOf: buffer[..<n])
    }
  }
}
