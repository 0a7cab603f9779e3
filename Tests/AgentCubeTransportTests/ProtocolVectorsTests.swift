import AgentCubeCore
import AgentCubeProtobuf
import Foundation
import NIOCore
import Testing

@testable import AgentCubeTransport

/// Protos/testdata/vectors.txt, the byte-level truth the Swift, Python and C suites share, against
/// our protobuf-c mapping (decode, then encode to the same bytes), the frame decoder and encoder,
/// the preface parser and the decoder's own protocol violations.
@Suite struct ProtocolVectorsTests {
  struct Vector: Sendable, CustomTestStringConvertible {
    var kind: String
    var name: String
    var fields: [String: String] = [:]
    var testDescription: String { name }

    func bytes(_ key: String) -> [UInt8] {
      (fields[key] ?? "").split(separator: " ").compactMap { UInt8($0, radix: 16) }
    }
  }

  static let all: [Vector] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Protos/testdata/vectors.txt")
    // Safe: the file is part of the repository; a missing file should fail loudly.
    let text = try! String(contentsOf: url, encoding: .utf8)
    var vectors: [Vector] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      if line.hasPrefix("#") || line.hasPrefix("|") { continue }
      if line.hasPrefix("== ") {
        let parts = line.dropFirst(3).split(separator: " ", maxSplits: 1)
        vectors.append(Vector(kind: String(parts[0]), name: String(parts[1])))
        continue
      }
      guard let colon = line.firstIndex(of: ":"), !vectors.isEmpty else { continue }
      let key = String(line[..<colon])
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      let old = vectors[vectors.count - 1].fields[key]
      vectors[vectors.count - 1].fields[key] = old.map { "\($0) \(value)" } ?? value
    }
    return vectors
  }()

  static func of(_ kind: String) -> [Vector] { all.filter { $0.kind == kind } }
  static func named(_ name: String) -> Vector? { all.first { $0.name == name } }

  /// Decodes with the Swift type of a full message name and encodes again.
  static let roundTrips: [String: @Sendable ([UInt8]) throws -> [UInt8]] = [
    "agentcube.v1.wire.Settings": { try WireSettings(protobuf: $0).protobufBytes() },
    "agentcube.v1.wire.Request": { try WireRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.wire.Response": { try WireResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.wire.GoAway": { try WireGoAway(protobuf: $0).protobufBytes() },
    "agentcube.v1.Session": { try Session(protobuf: $0).protobufBytes() },
    "agentcube.v1.HealthCheckRequest": { try HealthCheckRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.HealthCheckResponse": { try HealthCheckResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.CreateSessionRequest": { try CreateSessionRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.CreateSessionResponse": { try CreateSessionResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.GetSessionRequest": { try GetSessionRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.GetSessionResponse": { try GetSessionResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.ListSessionsRequest": { try ListSessionsRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.ListSessionsResponse": { try ListSessionsResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.RenewSessionRequest": { try RenewSessionRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.RenewSessionResponse": { try RenewSessionResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.DeleteSessionRequest": { try DeleteSessionRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.DeleteSessionResponse": { try DeleteSessionResponse(protobuf: $0).protobufBytes() },
    "agentcube.v1.OpenTunnelRequest": { try OpenTunnelRequest(protobuf: $0).protobufBytes() },
    "agentcube.v1.OpenTunnelResponse": { try OpenTunnelResponse(protobuf: $0).protobufBytes() },
  ]

  @Test func theFileHasEveryKind() {
    for kind in ["message", "preface", "frame", "tunnel", "exchange"] { #expect(!Self.of(kind).isEmpty, "\(kind)") }
  }

  @Test(arguments: of("message"))
  func eachMessageDecodesAndEncodesToItsBytes(_ vector: Vector) throws {
    let roundTrip = try #require(Self.roundTrips[vector.fields["type"] ?? ""], "no Swift type for \(vector.name)")
    #expect(try roundTrip(vector.bytes("hex")) == vector.bytes("hex"))
  }

  @Test(arguments: of("preface"))
  func prefaces(_ vector: Vector) throws {
    var buffer = ByteBuffer(bytes: vector.bytes("hex"))
    let version = try #require(UInt16(vector.fields["version"] ?? ""))
    #expect(Preface.parse(&buffer) == .preface(version: version))
    var written = ByteBuffer()
    Preface.write(version: version, into: &written)
    #expect(Array(written.readableBytesView) == vector.bytes("hex"))
  }

  @Test(arguments: of("frame"))
  func eachFrameDecodesAndEncodes(_ vector: Vector) throws {
    var buffer = ByteBuffer(bytes: vector.bytes("hex"))
    let frame = try #require(try FrameDecoder().next(from: &buffer))
    #expect(buffer.readableBytes == 0)
    let names: [String: UInt8] = ["SETTINGS": 0, "REQUEST": 1, "RESPONSE": 2, "CANCEL": 3, "PING": 4, "GOAWAY": 5]
    let type = vector.fields["type"].flatMap { names[$0] ?? UInt8($0) }
    #expect(frame.type.rawValue == type)
    #expect(frame.flags == UInt8(vector.fields["flags"] ?? ""))
    #expect(frame.callID == UInt32(vector.fields["call_id"] ?? ""))
    let payload: [UInt8]
    switch vector.fields["payload"] {
    case "-": payload = []
    case let name?: payload = try #require(Self.named(name)).bytes("hex")
    case nil: payload = vector.bytes("payload_hex")
    }
    #expect(Array(frame.payload.readableBytesView) == payload)
    var written = ByteBuffer()
    written.writeFrame(frame)
    #expect(Array(written.readableBytesView) == vector.bytes("hex"))
  }

  @Test(arguments: of("tunnel"))
  func theTunnelSwitchLeavesTheRawBytes(_ vector: Vector) throws {
    var buffer = ByteBuffer(bytes: vector.bytes("hex") + vector.bytes("raw"))
    #expect(Preface.parse(&buffer) == .preface(version: 1))
    let switchType: FrameType = vector.fields["side"] == "client" ? .request : .response
    while true {
      let frame = try #require(try FrameDecoder().next(from: &buffer))
      if frame.type == switchType { break }
      #expect(frame.type == .settings)
    }
    #expect(Array(buffer.readableBytesView) == vector.bytes("raw"))
  }

  /// The exchanges whose answer the frame decoder itself decides: lengths out of bounds.
  @Test(arguments: of("exchange").filter { $0.name.hasPrefix("length-") })
  func theDecoderRefusesBadLengthsAsTheVectorSays(_ vector: Vector) throws {
    var buffer = ByteBuffer(bytes: vector.bytes("send"))
    do {
      _ = try FrameDecoder().next(from: &buffer)
      Issue.record("\(vector.name) was accepted")
    } catch {
      #expect(error.message == vector.fields["message"])
      #expect("\(error.code)" == vector.fields["code"])
    }
  }

  /// Every exchange's bytes after the preface are frames the decoder cuts as sent (or refuses).
  @Test(arguments: of("exchange").filter { $0.fields["preface"] == nil && !$0.name.hasPrefix("length-") })
  func theExchangesAreWholeFrames(_ vector: Vector) throws {
    var buffer = ByteBuffer(bytes: vector.bytes("send"))
    while buffer.readableBytes > 0 {
      _ = try #require(try FrameDecoder().next(from: &buffer))
    }
  }
}
