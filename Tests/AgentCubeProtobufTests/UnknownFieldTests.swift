import AgentCubeCore
import AgentCubeProtobuf
import Testing

/// A newer peer's fields and enum numbers must not break an older reader.
@Suite("Unknown fields and enum numbers")
struct UnknownFieldTests {
  @Test(
    "An unknown field of each wire type is skipped",
    arguments: Samples.maximal + Samples.variants + Samples.empty, ProtoWriter.WireType.allCases
  )
  func unknownField(_ sample: Sample, _ type: ProtoWriter.WireType) throws {
    let known = try sample.value.protobufBytes()
    var before = ProtoWriter()
    before.any(99, type)
    var after = ProtoWriter()
    after.any(99, type)
    after.any(1000, type)
    #expect(sample.isEqual(to: try sample.decode(before.bytes + known)))
    #expect(sample.isEqual(to: try sample.decode(known + after.bytes)))
  }

  @Test("Unknown fields inside submessages are skipped")
  func unknownFieldInSubmessages() throws {
    let session = ProtoWriter.message {
      $0.string(1, "id")
      $0.fixed64(99, 1)
      $0.lengthDelimited(
        13,
        ProtoWriter.message {
          $0.string(1, "k")
          $0.fixed32(99, 2)
          $0.string(2, "v")
        })
    }
    let response = ProtoWriter.message {
      $0.lengthDelimited(1, session)
      $0.varint(99, 3)
    }
    let decoded = try GetSessionResponse(protobuf: response)
    #expect(decoded == GetSessionResponse(session: Session(id: "id", metadata: [KeyValue(key: "k", value: "v")])))
  }

  @Test("An unknown SessionStatus number is unspecified", arguments: [6, 42, 0x7FFF_FFFF, UInt64.max])
  func unknownSessionStatus(_ number: UInt64) throws {
    let bytes = ProtoWriter.message {
      $0.string(1, "s")
      $0.varint(6, number)
    }
    #expect(try Session(protobuf: bytes) == Session(id: "s", status: .unspecified))
  }

  @Test("An unknown ServingStatus number is unknown", arguments: [3, 99, UInt64.max])
  func unknownServingStatus(_ number: UInt64) throws {
    let bytes = ProtoWriter.message {
      $0.varint(1, number)
      $0.string(2, "v")
    }
    #expect(try HealthCheckResponse(protobuf: bytes) == HealthCheckResponse(status: .unknown, version: "v"))
  }

  @Test("A status code beyond gRPC's 16 survives a round trip")
  func unknownStatusCode() throws {
    let response = WireResponse(code: StatusCode(rawValue: 99), statusMessage: "new")
    #expect(try WireResponse(protobuf: response.protobufBytes()) == response)
    #expect(try WireGoAway(protobuf: hex("10 63")).code.rawValue == 99)
  }
}
