import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Synchronization
import Testing

/// A client that sends calls but does not read the answers must not make the server keep every
/// answer in memory: while a connection's unsent answers are over its high-water mark, the server
/// reads and decodes nothing more from it, and goes on once the client has read them.
@Suite struct BackPressureTests {
  private static let large = MethodDescriptor(service: "test.Service", method: "Large")
  private static let note = MethodDescriptor(service: "test.Service", method: "Note")

  /// The `service` of every Note call the server started, in order.
  private final class Notes: Sendable {
    private let names = Mutex<[String]>([])
    func add(_ name: String) { names.withLock { $0.append(name) } }
    var all: [String] { names.withLock { $0 } }
  }

  private func request(_ method: MethodDescriptor, _ text: String, callID: UInt32, into bytes: inout ByteBuffer) throws
  {
    let wire = WireRequest(method: method.fullName, message: try HealthCheckRequest(service: text).protobufBytes())
    try bytes.writeFrame(type: .request, callID: callID, message: wire)
  }

  @Test func serverStopsReadingWhileItsAnswersAreUnread() async throws {
    let notes = Notes()
    let server = try await RouterServer.start { router in
      // Large answers `service` bytes; Note records that it ran.
      router.register(Self.large) { (request: HealthCheckRequest, _) in
        HealthCheckResponse(version: String(repeating: "x", count: Int(request.service) ?? 0))
      }
      router.register(Self.note) { (request: HealthCheckRequest, _) in
        notes.add(request.service)
        return HealthCheckResponse(version: request.service)
      }
    }
    do {
      let answerSize = 16 << 20
      let raw = try await RawConnection.connect(unixSocket: server.socketPath)
      var bytes = ByteBuffer()
      Preface.write(into: &bytes)
      try bytes.writeFrame(
        type: .settings, callID: 0, message: WireSettings(maxFrameSize: UInt32(2 * answerSize), protocolVersion: 1))
      try request(Self.large, "\(answerSize)", callID: 1, into: &bytes)
      try await raw.send(bytes)
      #expect(try await raw.readPreface() == .preface(version: 1))
      #expect(try await raw.readFrame()?.type == .settings)
      // The large answer has begun to arrive, so the server has queued all of it: far more than
      // the socket holds. Only now does the next request go out.
      var header = try await raw.read(atLeast: Frame.lengthSize + Frame.headerSize)
      let payloadLength = Int(header.readInteger(as: UInt32.self)!) - Frame.headerSize
      var next = ByteBuffer()
      try request(Self.note, "after the large answer", callID: 3, into: &next)
      try await raw.send(next)

      // Read the large answer slowly, looking after each piece whether the server took the next
      // request yet: it may only once what is left unread fits the socket's buffers and the
      // connection's low-water mark (32 KiB), far less than 4 MiB here.
      var read = 0
      var readWhenTaken: Int?
      while read < payloadLength {
        read += try await raw.read(atLeast: min(64 << 10, payloadLength - read)).readableBytes
        if readWhenTaken == nil, !notes.all.isEmpty { readWhenTaken = read }
      }
      if let readWhenTaken { #expect(readWhenTaken >= payloadLength - (4 << 20)) }

      // Then it goes on: the next call is answered, and so is one more.
      let answer = try #require(try await raw.readFrame())
      #expect(answer.callID == 3)
      #expect(
        try HealthCheckResponse(protobuf: WireResponse(payload: answer.payload).message).version
          == "after the large answer")
      var last = ByteBuffer()
      try request(Self.note, "last", callID: 5, into: &last)
      try await raw.send(last)
      #expect(try await raw.readFrame()?.callID == 5)
      #expect(notes.all == ["after the large answer", "last"])
      await raw.close()
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
  }
}
