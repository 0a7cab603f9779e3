import AgentCubeCore
import AgentCubeProtobuf
import Testing

@Suite("Round trips")
struct RoundTripTests {
  @Test("Default values encode to the proto3 empty form and decode back", arguments: Samples.empty)
  func emptyValue(_ sample: Sample) throws {
    let bytes = try sample.value.protobufBytes()
    // Defaults are not sent; the one exception is a submessage the Swift type cannot leave out.
    let expected: [UInt8] =
      switch sample.value {
      case is WireResponse, is CreateSessionResponse, is GetSessionResponse, is RenewSessionResponse: [0x0A, 0x00]
      default: []
      }
    #expect(bytes == expected)
    #expect(sample.isEqual(to: try sample.decode(bytes)))
    #expect(sample.isEqual(to: try sample.decode([])), "no bytes at all is the default value")
  }

  @Test("Every field set, long strings, many entries, extreme numbers", arguments: Samples.maximal + Samples.variants)
  func maximalValue(_ sample: Sample) throws {
    let bytes = try sample.value.protobufBytes()
    #expect(!bytes.isEmpty)
    let decoded = try sample.decode(bytes)
    #expect(sample.isEqual(to: decoded))
    #expect(try decoded.protobufBytes() == bytes, "encoding is deterministic")
  }

  @Test("withProtobufBytes hands over the same bytes and passes on what body throws")
  func withProtobufBytes() throws {
    struct BodyError: Error {}
    let settings = WireSettings(maxFrameSize: 1 << 20, agent: "agentcube-swift/0.1")
    let bytes = try settings.withProtobufBytes { Array($0) }
    #expect(bytes == (try settings.protobufBytes()))
    #expect(throws: BodyError.self) { try settings.withProtobufBytes { _ in throw BodyError() } }
  }

  @Test("Decoding from an UnsafeRawBufferPointer, including an empty one without a base address")
  func decodeFromRawBuffer() throws {
    let request = GetSessionRequest(sessionID: "abc")
    let bytes = try request.protobufBytes()
    #expect(try bytes.withUnsafeBytes { try GetSessionRequest(protobuf: $0) } == request)
    #expect(try GetSessionRequest(protobuf: UnsafeRawBufferPointer(start: nil, count: 0)) == GetSessionRequest())
  }

  @Test("A string far larger than the encoder's scratch memory")
  func hugeString() throws {
    let request = OpenTunnelRequest(sessionID: String(repeating: "🧊", count: 300_000), port: 22)
    #expect(try OpenTunnelRequest(protobuf: request.protobufBytes()) == request)
  }

  @Test("Metadata keys decode lower-cased, as Metadata stores them")
  func metadataKeysLowerCased() throws {
    let bytes = ProtoWriter.message { request in
      request.lengthDelimited(
        2,
        ProtoWriter.message {
          $0.string(1, "X-Trace")
          $0.string(2, "Value")
        })
    }
    let request = try WireRequest(protobuf: bytes)
    #expect(Array(request.metadata) == Array(["x-trace": "Value"] as Metadata))
  }
}
