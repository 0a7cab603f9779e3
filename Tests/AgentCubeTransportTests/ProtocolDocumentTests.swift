import AgentCubeCore
import AgentCubeProtobuf
import Foundation
import NIOCore
import Testing

@testable import AgentCubeTransport

/// docs/protocol.md's example exchange must be what the code really sends and reads.
@Suite struct ProtocolDocumentTests {
  /// The hex bytes of the `index`-th fenced block after the heading of section 11.
  private func exampleBytes(block index: Int) throws -> [UInt8] {
    let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/protocol.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    let section = try #require(text.range(of: "## 11. Example")).upperBound
    let blocks = text[section...].components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    let block = try #require(blocks.dropFirst(index).first)
    return block.split(separator: "\n").flatMap { line in
      line.prefix(48).split(separator: " ").compactMap { UInt8($0, radix: 16) }
    }
  }

  @Test func theClientBytesAreWhatTheClientEncodes() throws {
    var expected = ByteBuffer()
    Preface.write(into: &expected)
    try expected.writeFrame(
      type: .settings, callID: 0, message: WireSettings(maxFrameSize: 4_194_304, protocolVersion: 1, agent: "doc"))
    var metadata = Metadata()
    metadata.add("authorization", "Bearer alice-token-0123456789")
    let message = try CreateSessionRequest(image: "echo", ttlSeconds: 600).protobufBytes()
    try expected.writeFrame(
      type: .request, callID: 1,
      message: WireRequest(
        method: "/agentcube.v1.SessionService/CreateSession", metadata: metadata, timeoutMicros: 30_000_000,
        message: message))
    #expect(try exampleBytes(block: 0) == Array(expected.readableBytesView))
  }

  @Test func theServerBytesDecodeToTheDescribedSession() throws {
    var buffer = ByteBuffer(bytes: try exampleBytes(block: 1))
    #expect(Preface.parse(&buffer) == .preface(version: 1))
    let decoder = FrameDecoder()
    let settings = try #require(try decoder.next(from: &buffer))
    #expect(try WireSettings(payload: settings.payload).maxConcurrentCalls == 100)
    let frame = try #require(try decoder.next(from: &buffer))
    #expect(frame.type == .response && frame.callID == 1)
    let response = try WireResponse(payload: frame.payload)
    #expect(response.code == .ok)
    let session = try CreateSessionResponse(protobuf: response.message).session
    #expect(session.id == "379bec8b-0404-408c-a4f5-fa8284f16d46")
    #expect(session.name == "sandbox-379bec8b")
    #expect(session.creator == "system:serviceaccount:team-a:alice")
    #expect(session.status == .running)
    #expect(session.ttlSeconds == 600)
    #expect(session.sshPort == 7000)
    #expect(session.address == "127.77.5.35")
    #expect(buffer.readableBytes == 0)
  }
}
