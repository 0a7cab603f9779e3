// libFuzzer target: a REQUEST frame's payload, as the server unpacks it (docs/fuzzing.md).
//
// The server first walks the envelope's top-level fields with RequestEnvelopeLimits (no allocation)
// and only then lets protobuf-c unpack it. Input: byte 0 picks the entry limit (0...71), byte 1 the
// byte limit (0...4080 in steps of 16), the rest is the payload. Properties:
// - the walk only ever answers RESOURCE_EXHAUSTED;
// - whatever passes the walk and decodes holds at most the limit's entries and metadata bytes
//   (so the walk misses no entry protobuf-c would unpack);
// - with the server's default limits likewise (64 entries, 16 KiB);
// - the payload decodes or fails as every message decoder must (ProtobufRoundTrip).
@testable import AgentCubeTransport
import AgentCubeCore
import AgentCubeProtobuf
import FuzzSupport
import NIOCore

/// The program's entry (FuzzDriver explains the name).
@_cdecl("fuzz_envelope_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  FuzzDriver.run(argc, argv, seeds: seeds, testOneInput)
}

/// One input; libFuzzer's LLVMFuzzerTestOneInput.
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  let input = UnsafeBufferPointer(start: data, count: size)
  guard input.count >= 2 else { return 0 }
  let limits = RequestEnvelopeLimits(maxMetadataEntries: Int(input[0] % 72), maxMetadataBytes: Int(input[1]) * 16)
  let payload = ByteBuffer(bytes: input.dropFirst(2))

  let request = payload.withUnsafeReadableBytes { ProtobufRoundTrip.check(WireRequest.self, $0) }
  for limits in [limits, RequestEnvelopeLimits()] {
    let violation = limits.violation(in: payload)
    if let violation {
      check(violation.code == .resourceExhausted, "the envelope walk answered \(violation.code)")
    } else if let request {
      check(
        request.metadata.count <= limits.maxMetadataEntries,
        "\(request.metadata.count) entries passed a limit of \(limits.maxMetadataEntries)")
      let values = request.metadata.reduce(0) { $0 + $1.value.utf8.count }
      check(values <= limits.maxMetadataBytes, "\(values) value bytes passed a limit of \(limits.maxMetadataBytes)")
      // Keys are lower-cased on decode, which can grow a key by half (U+0130 "İ", 2 bytes, becomes 3).
      let keys = request.metadata.reduce(0) { $0 + $1.key.utf8.count }
      check(keys <= limits.maxMetadataBytes * 3 / 2, "\(keys) key bytes passed a limit of \(limits.maxMetadataBytes)")
    }
  }
  return 0
}

/// Requests as clients send them, with a limit of 8 entries and 1 KiB and with one that they exceed.
var seeds: [(name: String, bytes: [UInt8])] {
  let request = (try? MessageSamples.request.protobufBytes()) ?? []
  var many = Metadata()
  for i in 0..<20 { many.add("x-\(i)", "") }
  let manyEntries = (try? WireRequest(method: "/agentcube.v1.Health/Check", metadata: many).protobufBytes()) ?? []
  return [
    ("request", [8, 64] + request),
    ("request-over-limits", [1, 1] + request),
    ("health-check", [8, 64] + ((try? WireRequest(method: "/agentcube.v1.Health/Check").protobufBytes()) ?? [])),
    ("twenty-entries", [64, 255] + manyEntries),
    ("twenty-entries-over-limit", [19, 255] + manyEntries),
  ]
}
