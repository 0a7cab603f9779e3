// libFuzzer target: FrameDecoder over an arbitrary byte stream (docs/fuzzing.md).
//
// Input: byte 0 picks the decoder's maxFrameSize, byte 1 the size of the chunks the stream is fed
// in; the rest is the stream. Properties:
// - a decoded frame re-encodes to exactly the bytes it was cut from, and is within the limit;
// - `nil` (more bytes needed) and a thrown ProtocolViolation consume nothing; a violation is thrown
//   exactly when the announced length is below 6 (INVALID_ARGUMENT) or above the limit
//   (RESOURCE_EXHAUSTED), and `nil` only while the frame is incomplete;
// - feeding the stream in chunks, as a connection does, gives the same frames and the same end.
import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeTransport
import FuzzSupport
import NIOCore

/// How decoding a stream ended: frames (re-encoded, so that no payload slice keeps the input
/// buffer's storage alive and makes every append copy it), then a violation or a need for more bytes.
struct Outcome: Equatable {
  var frames: [[UInt8]] = []
  var violation: ProtocolViolation?
}

/// The program's entry (FuzzDriver explains the name).
@_cdecl("fuzz_frame_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
  FuzzDriver.run(argc, argv, seeds: seeds, testOneInput)
}

/// One input; libFuzzer's LLVMFuzzerTestOneInput.
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
  guard let data else { return 0 }
  let input = UnsafeBufferPointer(start: data, count: size)
  guard input.count >= 2 else { return 0 }
  let decoder = FrameDecoder(maxFrameSize: maxFrameSize(input[0]))
  let chunkSize = Int(input[1]) + 1
  let stream = input.dropFirst(2)

  var whole = ByteBuffer(bytes: stream)
  let atOnce = decode(&whole, decoder)

  var buffer = ByteBuffer()
  var inChunks = Outcome()
  var offset = stream.startIndex
  while offset < stream.endIndex, inChunks.violation == nil {
    let end = min(offset + chunkSize, stream.endIndex)
    buffer.writeBytes(stream[offset..<end])
    offset = end
    let step = decode(&buffer, decoder)
    inChunks.frames += step.frames
    inChunks.violation = step.violation
  }
  check(inChunks == atOnce, "decoding in chunks of \(chunkSize) differs from decoding at once")
  return 0
}

/// 0 is the default (4 MiB); otherwise a small limit, down to below the header size.
func maxFrameSize(_ byte: UInt8) -> Int {
  byte == 0 ? Frame.defaultMaxFrameSize : Int(byte) * 8
}

/// Decodes frames until the decoder asks for more bytes or throws, checking each step.
func decode(_ buffer: inout ByteBuffer, _ decoder: FrameDecoder) -> Outcome {
  var outcome = Outcome()
  while true {
    let before = buffer
    let announced = before.getInteger(at: before.readerIndex, as: UInt32.self)
    do {
      guard let frame = try decoder.next(from: &buffer) else {
        check(buffer == before && buffer.readerIndex == before.readerIndex, "nil consumed bytes")
        if let announced {
          check(
            announced >= Frame.headerSize && announced <= decoder.maxFrameSize
              && before.readableBytes < Frame.lengthSize + Int(announced),
            "nil for a complete or out-of-limit frame of length \(announced)")
        } else {
          check(before.readableBytes < Frame.lengthSize, "nil with a whole length prefix")
        }
        return outcome
      }
      let consumed = before.readableBytes - buffer.readableBytes
      check(consumed == Frame.lengthSize + Frame.headerSize + frame.payload.readableBytes, "consumed \(consumed)")
      check(Int(announced!) == consumed - Frame.lengthSize, "frame length differs from the prefix")
      check(consumed - Frame.lengthSize <= decoder.maxFrameSize, "frame over the limit decoded")
      var encoded = ByteBuffer()
      encoded.writeFrame(frame)
      check(encoded == before.getSlice(at: before.readerIndex, length: consumed)!, "frame re-encodes differently")
      outcome.frames.append(Array(encoded.readableBytesView))
    } catch {
      check(buffer.readerIndex == before.readerIndex, "a violation consumed bytes")
      let length = Int(announced!)  // a violation needs the length prefix
      if length < Frame.headerSize {
        check(error.code == .invalidArgument, "short frame rejected with \(error.code)")
      } else {
        check(length > decoder.maxFrameSize && error.code == .resourceExhausted, "frame rejected: \(error)")
      }
      outcome.violation = error
      return outcome
    }
  }
}

/// Each frame type alone with the default limit, a client's opening frames together, and one
/// frame cut short and fed in small chunks.
var seeds: [(name: String, bytes: [UInt8])] {
  let frames = FrameSeeds.frames
  let all = frames.flatMap(\.bytes)
  return frames.map { ($0.name, [0, 255] + $0.bytes) }
    + [("all-types", [0, 255] + all), ("all-types-chunks-of-3", [0, 2] + all)]
    + [("request-truncated-bytewise", [0, 0] + frames[1].bytes.dropLast(3))]
    + [("request-over-limit-8", [1, 255] + frames[1].bytes)]
}
