// libFuzzer target: the first bytes of a connection, as the server reads them (docs/fuzzing.md).
//
// Preface.parse is checked against docs/protocol.md §2 on every prefix of the input (a peer may
// send its first bytes one at a time): `http` exactly when the first 4 bytes are an HTTP method the
// page lists; `preface` exactly when 8 bytes start with `ACUBE\0`, consuming those 8 and reading the
// big-endian version; `garbage` exactly when the bytes so far disagree with `ACUBE\0` and with
// every HTTP method; `nil` (wait) otherwise, consuming nothing. An answer, once given, is the same
// for every longer prefix. After a preface, the next frame is decoded as the server does, and a
// SETTINGS payload as WireSettings, which must round-trip.
import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeTransport
import FuzzSupport
import NIOCore

/// The program's entry (FuzzDriver explains the name).
@_cdecl("fuzz_preface_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  FuzzDriver.run(argc, argv, seeds: seeds, testOneInput)
}

/// One input; libFuzzer's LLVMFuzzerTestOneInput.
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  let input = Array(UnsafeBufferPointer(start: data, count: size))
  var answer: Preface.Parsed?
  for length in 0...min(input.count, Preface.length + 1) {
    var buffer = ByteBuffer(bytes: input.prefix(length))
    let parsed = Preface.parse(&buffer)
    check(parsed == expected(input.prefix(length)), "parse(\(input.prefix(length))) gave \(String(describing: parsed))")
    let consumed = length - buffer.readableBytes
    if case .preface = parsed {
      check(consumed == Preface.length, "a preface consumed \(consumed) bytes")
    } else {
      check(consumed == 0, "\(String(describing: parsed)) consumed \(consumed) bytes")
    }
    if let answer { check(parsed == answer, "the answer changed from \(answer) at \(length) bytes") }
    answer = answer ?? parsed
  }
  guard case .preface = answer else { return 0 }
  var rest = ByteBuffer(bytes: input.dropFirst(Preface.length))
  if let frame = try? FrameDecoder().next(from: &rest), frame.type == .settings {
    _ = frame.payload.withUnsafeReadableBytes { ProtobufRoundTrip.check(WireSettings.self, $0) }
  }
  return 0
}

/// What docs/protocol.md §2 says the first bytes are.
func expected(_ head: ArraySlice<UInt8>) -> Preface.Parsed? {
  let methods = ["GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "PRI "]
  if head.count >= 4, methods.contains(where: { head.prefix(4).elementsEqual($0.utf8) }) { return .http }
  // Too few bytes to tell an HTTP method from garbage: the answer must not depend on how reads split.
  if head.count < 4, methods.contains(where: { $0.utf8.starts(with: head) }) { return nil }
  let magic = Array("ACUBE".utf8) + [0]
  guard head.prefix(magic.count).elementsEqual(magic.prefix(head.count)) else { return .garbage }
  guard head.count >= Preface.length else { return nil }
  let version = UInt16(head[head.startIndex + 6]) << 8 | UInt16(head[head.startIndex + 7])
  return .preface(version: version)
}

/// The client's opening (preface and SETTINGS), other versions, HTTP and near misses.
var seeds: [(name: String, bytes: [UInt8])] {
  func preface(_ version: UInt16) -> [UInt8] {
    var buffer = ByteBuffer()
    Preface.write(version: version, into: &buffer)
    return Array(buffer.readableBytesView)
  }
  let settings = FrameSeeds.frames.first { $0.name == "settings" }!.bytes
  return [
    ("preface-v1", preface(1)),
    ("preface-v1-settings", preface(1) + settings),
    ("preface-v0", preface(0)),
    ("preface-v65535", preface(.max)),
    ("http-get", Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
    ("http2-preface", Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)),
    ("magic-without-zero", Array("ACUBEX".utf8) + [0, 1]),
    ("short-magic", Array("ACU".utf8)),
  ]
}
