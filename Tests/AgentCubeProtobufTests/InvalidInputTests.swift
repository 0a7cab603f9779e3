import AgentCubeCore
import AgentCubeProtobuf
import Testing

@Suite("Invalid input")
struct InvalidInputTests {
  /// A message whose string field at `path` (field numbers, outermost first) holds `bytes`.
  struct BadString: Sendable, CustomTestStringConvertible {
    let type: Sample
    let path: [UInt64]
    let field: String
    var testDescription: String { field }

    func message(holding bytes: [UInt8]) -> [UInt8] {
      path.dropLast().reversed().reduce(ProtoWriter.message { $0.lengthDelimited(path.last!, bytes) }) {
        inner, field in ProtoWriter.message { $0.lengthDelimited(field, inner) }
      }
    }
  }

  /// Every string field of every message, nested ones reached through their parents.
  static let stringFields: [BadString] = [
    BadString(type: Sample(WireSettings()), path: [4], field: "Settings.agent"),
    BadString(type: Sample(WireRequest()), path: [1], field: "Request.method"),
    BadString(type: Sample(WireRequest()), path: [2, 1], field: "MetadataEntry.key"),
    BadString(type: Sample(WireRequest()), path: [2, 2], field: "MetadataEntry.value"),
    BadString(type: Sample(WireResponse()), path: [1, 2], field: "Status.message"),
    BadString(type: Sample(WireResponse()), path: [1, 3, 1], field: "ErrorDetail.type"),
    BadString(type: Sample(WireResponse()), path: [1, 3, 2], field: "ErrorDetail.value"),
    BadString(type: Sample(WireResponse()), path: [3, 2], field: "MetadataEntry.value"),
    BadString(type: Sample(WireGoAway()), path: [3], field: "GoAway.message"),
    BadString(type: Sample(Session()), path: [1], field: "Session.id"),
    BadString(type: Sample(Session()), path: [2], field: "Session.name"),
    BadString(type: Sample(Session()), path: [3], field: "Session.namespace"),
    BadString(type: Sample(Session()), path: [4], field: "Session.creator"),
    BadString(type: Sample(Session()), path: [5], field: "Session.image"),
    BadString(type: Sample(Session()), path: [7], field: "Session.status_message"),
    BadString(type: Sample(Session()), path: [13, 1], field: "MetadataPair.key"),
    BadString(type: Sample(Session()), path: [13, 2], field: "MetadataPair.value"),
    BadString(type: Sample(Session()), path: [14], field: "Session.ssh_user"),
    BadString(type: Sample(Session()), path: [16], field: "Session.address"),
    BadString(type: Sample(Session()), path: [17], field: "Session.ssh_host_public_key"),
    BadString(type: Sample(GetSessionResponse()), path: [1, 17], field: "Session.ssh_host_public_key"),
    BadString(type: Sample(CreateSessionRequest()), path: [1], field: "CreateSessionRequest.image"),
    BadString(type: Sample(CreateSessionRequest()), path: [3], field: "CreateSessionRequest.ssh_public_key"),
    BadString(type: Sample(CreateSessionRequest()), path: [4, 2], field: "MetadataPair.value"),
    BadString(type: Sample(CreateSessionResponse()), path: [1, 1], field: "Session.id"),
    BadString(type: Sample(GetSessionRequest()), path: [1], field: "GetSessionRequest.session_id"),
    BadString(type: Sample(GetSessionResponse()), path: [1, 13, 1], field: "MetadataPair.key"),
    BadString(type: Sample(DeleteSessionRequest()), path: [1], field: "DeleteSessionRequest.session_id"),
    BadString(type: Sample(ListSessionsRequest()), path: [2], field: "ListSessionsRequest.page_token"),
    BadString(type: Sample(ListSessionsResponse()), path: [1, 16], field: "Session.address"),
    BadString(type: Sample(ListSessionsResponse()), path: [2], field: "ListSessionsResponse.next_page_token"),
    BadString(type: Sample(RenewSessionRequest()), path: [1], field: "RenewSessionRequest.session_id"),
    BadString(type: Sample(RenewSessionResponse()), path: [1, 5], field: "Session.image"),
    BadString(type: Sample(OpenTunnelRequest()), path: [1], field: "OpenTunnelRequest.session_id"),
    BadString(type: Sample(OpenTunnelResponse()), path: [1], field: "OpenTunnelResponse.target"),
    BadString(type: Sample(HealthCheckRequest()), path: [1], field: "HealthCheckRequest.service"),
    BadString(type: Sample(HealthCheckResponse()), path: [2], field: "HealthCheckResponse.version"),
    BadString(type: Sample(HealthCheckResponse()), path: [3], field: "HealthCheckResponse.backend"),
    BadString(type: Sample(HealthCheckResponse()), path: [5], field: "HealthCheckResponse.isolation_message"),
  ]

  /// Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an overlong
  /// encoding, a UTF-16 surrogate, a code point above U+10FFFF, and 0xFF.
  static let invalidUTF8: [[UInt8]] = [
    [0x80], [0x61, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x61, 0xFF, 0x62],
  ]

  @Test("A string field that is not UTF-8 is INVALID_ARGUMENT naming the field", arguments: stringFields)
  func invalidUTF8(_ bad: BadString) throws {
    for bytes in Self.invalidUTF8 {
      let error = try #require(throws: RPCError.self) { try bad.type.decode(bad.message(holding: bytes)) }
      #expect(error.code == .invalidArgument)
      #expect(error.message == "\(bad.field) is not valid UTF-8", "bytes \(bytes)")
    }
    // The same place with valid UTF-8 decodes, so the test above fails for the right reason.
    _ = try bad.type.decode(bad.message(holding: Array("ok ü".utf8)))
  }

  @Test("A NUL byte in a received string is INVALID_ARGUMENT, not a string cut short", arguments: stringFields)
  func nulOnDecode(_ bad: BadString) throws {
    for bytes: [UInt8] in [[0], [0x61, 0x00], [0x00, 0x61], [0x61, 0x00, 0x62]] {
      let error = try #require(throws: RPCError.self) { try bad.type.decode(bad.message(holding: bytes)) }
      #expect(error.code == .invalidArgument)
      #expect(error.message == "\(bad.field) contains a NUL byte", "bytes \(bytes)")
    }
  }

  static let nulOnEncodeCases: [(Sample, String)] = [
    (Sample(WireSettings(agent: "a\0")), "Settings.agent"),
    (Sample(WireRequest(method: "/a", metadata: ["k": "v\0v"])), "MetadataEntry.value"),
    (Sample(WireRequest(metadata: ["\0": "v"])), "MetadataEntry.key"),
    (Sample(WireResponse(statusMessage: "\0")), "Status.message"),
    (Sample(WireResponse(details: [ErrorDetail(type: "t", value: "\0")])), "ErrorDetail.value"),
    (Sample(WireResponse(message: [0], trailers: ["t": "\0"])), "MetadataEntry.value"),
    (Sample(WireGoAway(message: "bye\0")), "GoAway.message"),
    (Sample(Session(id: "\0id")), "Session.id"),
    (Sample(Session(metadata: [KeyValue(key: "k\0", value: "")])), "MetadataPair.key"),
    (Sample(CreateSessionRequest(sshPublicKey: "ssh-ed25519 \0")), "CreateSessionRequest.ssh_public_key"),
    (Sample(ListSessionsResponse(sessions: [Session(), Session(address: "\0")])), "Session.address"),
    (Sample(RenewSessionResponse(session: Session(name: "\0"))), "Session.name"),
    (Sample(GetSessionResponse(session: Session(sshHostPublicKey: "ssh-ed25519 \0"))), "Session.ssh_host_public_key"),
    (Sample(OpenTunnelRequest(sessionID: "\0")), "OpenTunnelRequest.session_id"),
    (Sample(HealthCheckResponse(isolationMessage: "\0")), "HealthCheckResponse.isolation_message"),
  ]

  @Test("A NUL byte in a string to send is INVALID_ARGUMENT naming the field", arguments: nulOnEncodeCases)
  func nulOnEncode(_ sample: Sample, _ field: String) throws {
    let error = try #require(throws: RPCError.self) { try sample.value.protobufBytes() }
    #expect(error.code == .invalidArgument)
    #expect(error.message == "\(field) contains a NUL byte")
  }

  /// Input that no protobuf message is made of: a tag cut short, a length beyond the end, field number 0,
  /// a group start (unsupported wire type 3), wire type 7, a varint of eleven bytes.
  static let garbage: [[UInt8]] = [
    [0xFF], [0x0A, 0x05, 0x61], [0x00, 0x01], [0x0B], [0x0F, 0x00], hex("08 ffffffffffffffffffff01"),
    [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
  ]

  @Test("Garbage is INVALID_ARGUMENT 'malformed <message>'", arguments: Samples.empty)
  func garbage(_ sample: Sample) throws {
    for bytes in Self.garbage {
      let error = try #require(throws: RPCError.self, "bytes \(bytes)") { try sample.decode(bytes) }
      #expect(error.code == .invalidArgument)
      #expect(error.message == "malformed \(Self.protoName(of: sample))", "bytes \(bytes)")
    }
  }

  @Test("A known field with the wrong wire type is malformed")
  func wrongWireType() throws {
    let error = try #require(throws: RPCError.self) { try WireSettings(protobuf: hex("0a 01 61")) }
    #expect(error == RPCError(code: .invalidArgument, message: "malformed agentcube.v1.wire.Settings"))
    let nested = ProtoWriter.message { $0.lengthDelimited(1, ProtoWriter.message { $0.string(6, "running") }) }
    #expect(throws: RPCError(code: .invalidArgument, message: "malformed agentcube.v1.GetSessionResponse")) {
      try GetSessionResponse(protobuf: nested)
    }
  }

  @Test(
    "Every truncation either decodes to a prefix of the fields or is malformed; none crashes",
    arguments: Samples.maximal + Samples.variants)
  func truncated(_ sample: Sample) throws {
    let bytes = try sample.value.protobufBytes()
    let step = max(1, bytes.count / 2000)  // keeps the largest samples fast
    var malformed = 0
    for length in stride(from: 0, to: bytes.count, by: step) {
      do {
        _ = try sample.decode(Array(bytes[..<length]))
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument)
        #expect(error.message == "malformed \(Self.protoName(of: sample))")
        malformed += 1
      }
    }
    #expect(malformed > 0)
    // Without its last byte, the last field is cut short whatever its type: always malformed.
    #expect(throws: RPCError.self) { try sample.decode(Array(bytes.dropLast())) }
  }

  @Test("Random bytes never crash the decoder", arguments: Samples.empty)
  func randomBytes(_ sample: Sample) {
    var generator = SplitMix64(seed: 0xA9E7_C0BE)
    for _ in 0..<300 {
      let bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      do {
        _ = try sample.decode(bytes)
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument)
      } catch {
        Issue.record("unexpected error \(error)")
      }
    }
  }

  static func protoName(of sample: Sample) -> String {
    switch sample.value {
    case is WireSettings: "agentcube.v1.wire.Settings"
    case is WireRequest: "agentcube.v1.wire.Request"
    case is WireResponse: "agentcube.v1.wire.Response"
    case is WireGoAway: "agentcube.v1.wire.GoAway"
    default: "agentcube.v1.\(type(of: sample.value))"
    }
  }
}

/// A small deterministic generator, so that a failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
