import NIOCore
import Testing

@testable import AgentCubeTransport

@Suite struct FrameDecoderTests {
  private func encoded(_ frames: [Frame]) -> ByteBuffer {
    var buffer = ByteBuffer()
    for frame in frames { buffer.writeFrame(frame) }
    return buffer
  }

  private func sampleFrames() -> [Frame] {
    [
      Frame(type: .request, callID: 1, payload: ByteBuffer(bytes: Array(repeating: 0xAB, count: 300))),
      Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])),
      Frame(type: .cancel, callID: 7, payload: ByteBuffer()),
      Frame(type: .response, flags: 0x80, callID: .max, payload: ByteBuffer(string: "hello")),
    ]
  }

  /// Feeds `bytes` in chunks of the given sizes and decodes greedily after each chunk.
  private func decode(_ bytes: ByteBuffer, chunkSizes: some Sequence<Int>) throws -> ([Frame], Int) {
    let decoder = FrameDecoder()
    var cumulation = ByteBuffer()
    var frames: [Frame] = []
    var input = bytes
    var sizes = chunkSizes.makeIterator()
    while input.readableBytes > 0 {
      let size = min(sizes.next() ?? 1, input.readableBytes)
      var chunk = input.readSlice(length: size)!
      cumulation.writeBuffer(&chunk)
      while let frame = try decoder.next(from: &cumulation) { frames.append(frame) }
    }
    return (frames, cumulation.readableBytes)
  }

  @Test func decodesFramesFedByteByByte() throws {
    let frames = sampleFrames()
    let (decoded, leftover) = try decode(encoded(frames), chunkSizes: repeatElement(1, count: .max))
    #expect(decoded == frames)
    #expect(leftover == 0)
  }

  @Test(arguments: [1, 2, 3, 42, 1234])
  func decodesFramesFedInRandomChunks(seed: UInt64) throws {
    var generator = SeededGenerator(seed: seed)
    let frames = (0..<50).flatMap { _ in sampleFrames() }
    let sizes = (0..<100_000).map { _ in Int.random(in: 1...97, using: &generator) }
    let (decoded, leftover) = try decode(encoded(frames), chunkSizes: sizes)
    #expect(decoded == frames)
    #expect(leftover == 0)
  }

  @Test func rejectsAnOversizeLengthBeforeItsPayloadArrives() {
    let decoder = FrameDecoder(maxFrameSize: 1024)
    var buffer = ByteBuffer()
    buffer.writeInteger(UInt32(0xFFFF_FFF0))  // ~4 GiB announced, nothing else sent.
    #expect(throws: ProtocolViolation.self) { try decoder.next(from: &buffer) }
    // Only the 4 length bytes were ever held: nothing was reserved for the announced size.
    #expect(buffer.capacity < 1024)
  }

  @Test func acceptsAFrameOfExactlyTheMaximumSize() throws {
    let decoder = FrameDecoder(maxFrameSize: 1024)
    var buffer = encoded([Frame(type: .request, callID: 1, payload: ByteBuffer(repeating: 1, count: 1024 - Frame.headerSize))])
    #expect(try decoder.next(from: &buffer)?.payload.readableBytes == 1024 - Frame.headerSize)
    var tooBig = encoded([Frame(type: .request, callID: 1, payload: ByteBuffer(repeating: 1, count: 1025 - Frame.headerSize))])
    #expect(throws: ProtocolViolation.self) { try decoder.next(from: &tooBig) }
  }

  @Test func rejectsALengthShorterThanTheHeader() {
    var buffer = ByteBuffer()
    buffer.writeMultipleIntegers(UInt32(3), UInt8(1), UInt8(0), UInt8(0))
    #expect(throws: ProtocolViolation.self) { try FrameDecoder().next(from: &buffer) }
  }

  @Test func waitsForTheRestOfATruncatedFrameAndKeepsItsBytes() throws {
    var whole = encoded([Frame(type: .request, callID: 9, payload: ByteBuffer(string: "payload"))])
    var truncated = whole.readSlice(length: whole.readableBytes - 1)!
    #expect(try FrameDecoder().next(from: &truncated) == nil)
    #expect(truncated.readableBytes == Frame.lengthSize + Frame.headerSize + 6)
  }

  @Test func leavesBytesAfterAFrameUntouched() throws {
    var buffer = encoded([Frame(type: .request, callID: 3, payload: ByteBuffer(string: "x"))])
    buffer.writeString("SSH-2.0-raw tunnel bytes")
    let frame = try #require(try FrameDecoder().next(from: &buffer))
    #expect(frame.callID == 3)
    #expect(buffer.readString(length: buffer.readableBytes) == "SSH-2.0-raw tunnel bytes")
  }

  @Test func writesTheDocumentedHeaderLayout() {
    let buffer = encoded([Frame(type: .response, flags: 0x01, callID: 0x0102_0304, payload: ByteBuffer(bytes: [0xEE]))])
    #expect(Array(buffer.readableBytesView) == [0, 0, 0, 7, 2, 1, 1, 2, 3, 4, 0xEE])
  }
}

/// A small deterministic generator (SplitMix64) so random chunkings are reproducible.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
