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

  /// The SSH public key of the example.
  static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdwEOrn5iCsQ9mT/RHYeIhYg9C3UtiLEvrQZd2PNUbE agent@example"

  @Test func theClientBytesAreWhatTheClientEncodes() throws {
    var expected = ByteBuffer()
    Preface.write(into: &expected)
    // The SETTINGS the Swift client sends (ClientConnectionHandler).
    try expected.writeFrame(
      type: .settings, callID: 0,
      message: WireSettings(maxFrameSize: 4_194_304, protocolVersion: 1, agent: ClientConnectionHandler.agent))
    var metadata = Metadata()
    metadata.add("authorization", "Bearer alice-token-0123456789")
    let message = try CreateSessionRequest(ttlSeconds: 600, sshPublicKey: Self.key).protobufBytes()
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
    let serverSettings = try WireSettings(payload: settings.payload)
    #expect(serverSettings.maxConcurrentCalls == 100 && serverSettings.agent == "agentcubed/0.1")
    let frame = try #require(try decoder.next(from: &buffer))
    #expect(frame.type == .response && frame.callID == 1)
    let response = try WireResponse(payload: frame.payload)
    #expect(response.code == .ok)
    let session = try CreateSessionResponse(protobuf: response.message).session
    #expect(session.id == "bb664281-a028-49fb-a200-a58a9837717f")
    #expect(session.name == "sandbox-bb664281")
    #expect(session.creator == "system:serviceaccount:team-a:alice")
    #expect(session.image == "default")
    #expect(session.status == .running)
    #expect(session.ttlSeconds == 600 && session.idleTimeoutSeconds == 1800)
    #expect(session.sshUser == "root" && session.sshPort == 22)
    #expect(session.address.isEmpty)
    #expect(session.sshHostPublicKey.hasPrefix("ssh-ed25519 AAAA"))
    #expect(buffer.readableBytes == 0)
  }
}
