// libFuzzer target: every protobuf message decoder (docs/fuzzing.md).
//
// Input: byte 0 picks the message type (MessageKind.all, modulo its count), the rest is decoded as
// that type. Properties (ProtobufRoundTrip): bytes that do not decode throw RPCError
// INVALID_ARGUMENT with a documented message; a decoded value re-encodes, decodes back equal and
// re-encodes to the same bytes.
import FuzzSupport

/// The program's entry (FuzzDriver explains the name).
@_cdecl("fuzz_messages_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  FuzzDriver.run(argc, argv, seeds: seeds, testOneInput)
}

/// One input; libFuzzer's LLVMFuzzerTestOneInput.
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
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
