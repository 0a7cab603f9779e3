// libFuzzer target: every protobuf message decoder (docs/fuzzing.md).
//
// Input: byte 0 picks the message type (MessageKind.all, modulo its count), the rest is decoded as
// that type. Properties (ProtobufRoundTrip): bytes that do not decode throw RPCError
// INVALID_ARGUMENT with a documented message; a decoded value re-encodes, decodes back equal and
// re-encodes to the same bytes.
import FuzzSupport

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
  _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> Int32 {
  Seeds.writeIfRequested(seeds)
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  let kind = MessageKind.all[Int(data[0]) % MessageKind.all.count]
  kind.check(UnsafeRawBufferPointer(start: data + 1, count: size - 1))
  return 0
}

/// Each message type's samples, behind the byte that selects the type.
var seeds: [(name: String, bytes: [UInt8])] {
  MessageKind.all.enumerated().flatMap { index, kind in
    kind.samples.enumerated().map { sample, bytes in ("\(kind.name)-\(sample)", [UInt8(index)] + bytes) }
  }
}
