import AgentCubeCore
import AgentCubeProtobuf
import Testing

/// Encodings computed by hand from the protobuf wire format, so that what another language's protobuf
/// library writes and reads is checked, not just our own round trips.
@Suite("Known answers")
struct KnownAnswerTests {
  struct Case: Sendable, CustomTestStringConvertible {
    let sample: Sample
    let bytes: [UInt8]
    var testDescription: String { sample.testDescription }
  }

  static let cases: [Case] = [
    Case(
      sample: Sample(WireSettings(maxFrameSize: 16384, maxConcurrentCalls: 100, protocolVersion: 1, agent: "ac/0.1")),
      // 1: varint 16384; 2: varint 100; 3: varint 1; 4: "ac/0.1"
      bytes: hex("08 808001  10 64  18 01  22 06 61632f302e31")
    ),
    Case(
      sample: Sample(
        WireRequest(
          method: "/agentcube.v1.Health/Check", metadata: ["authorization": "Bearer t"], timeoutMicros: 1_000_000,
          message: [0x0A, 0x00])),
      bytes: hex(
        """
        0a 1a 2f6167656e74637562652e76312e4865616c74682f436865636b
        12 19  0a 0d 617574686f72697a6174696f6e  12 08 4265617265722074
        18 c0843d
        22 02 0a00
        """)
    ),
    Case(
      sample: Sample(
        WireResponse(
          code: .notFound, statusMessage: "no", details: [ErrorDetail(type: "t", value: "v")], trailers: ["x": "y"])),
      // 1: Status{1: 5, 2: "no", 3: {1: "t", 2: "v"}}; 3: MetadataEntry{1: "x", 2: "y"}
      bytes: hex("0a 0e 0805 12026e6f 1a06 0a0174 120176   1a 06 0a0178 120179")
    ),
    Case(
      sample: Sample(WireGoAway(lastCallID: 7, code: .unavailable, message: "bye")),
      bytes: hex("08 07  10 0e  1a 03 627965")
    ),
    Case(
      sample: Sample(
        Session(
          id: "s", status: .running, createdAtMs: -1, ttlSeconds: .max, metadata: [KeyValue(key: "k", value: "v")],
          sshPort: 22, address: "é")),
      // int64 -1 is ten bytes; UInt32.max five; "é" is c3 a9.
      bytes: hex(
        """
        0a 01 73  30 02  40 ffffffffffffffffff01  58 ffffffff0f
        6a 06 0a016b 120176  78 16  82 01 02 c3a9
        """)
    ),
    Case(
      sample: Sample(Session(id: "s", address: "a", sshHostPublicKey: "ssh-ed25519 AAAA")),
      // Field 17 needs a two-byte tag: (17 << 3) | 2 = 138 = 8a 01.
      bytes: hex("0a 01 73  82 01 01 61  8a 01 10 7373682d6564323535313920 41414141")
    ),
    Case(
      sample: Sample(GetSessionResponse(session: Session(id: "s"))),
      bytes: hex("0a 03 0a0173")
    ),
    Case(
      sample: Sample(ListSessionsResponse(sessions: [Session(id: "a"), Session()], nextPageToken: "n")),
      bytes: hex("0a 03 0a0161  0a 00  12 01 6e")
    ),
    Case(
      sample: Sample(
        CreateSessionRequest(
          image: "i", ttlSeconds: 300, sshPublicKey: "k", metadata: [KeyValue(key: "a", value: "")],
          idleTimeoutSeconds: 60)),
      // A pair with an empty value sends only its key.
      bytes: hex("0a 01 69  10 ac02  1a 01 6b  22 03 0a0161  28 3c")
    ),
    Case(
      sample: Sample(HealthCheckResponse(status: .serving, version: "1", backend: "local", isolated: true)),
      bytes: hex("08 01  12 01 31  1a 05 6c6f63616c  20 01")
    ),
    Case(sample: Sample(OpenTunnelRequest(sessionID: "s", port: 2222)), bytes: hex("0a 01 73  10 ae11")),
  ]

  @Test("Encodes to the hand-computed bytes", arguments: cases)
  func encodes(_ known: Case) throws {
    #expect(try known.sample.value.protobufBytes() == known.bytes)
  }

  @Test("Decodes the hand-computed bytes", arguments: cases)
  func decodes(_ known: Case) throws {
    #expect(known.sample.isEqual(to: try known.sample.decode(known.bytes)))
  }

  @Test("Fields in any order, and the last of a repeated scalar wins, as in every protobuf library")
  func fieldOrderAndLastWins() throws {
    let bytes = ProtoWriter.message {
      $0.string(4, "agent")
      $0.varint(3, 9)
      $0.varint(1, 1)
      $0.varint(1, 16384)
    }
    #expect(try WireSettings(protobuf: bytes) == WireSettings(maxFrameSize: 16384, protocolVersion: 9, agent: "agent"))
  }
}
