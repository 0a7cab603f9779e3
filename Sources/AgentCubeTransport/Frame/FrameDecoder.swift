import AgentCubeCore
public import NIOCore

/// Cuts frames out of a byte stream, checking the announced length before buffering anything.
///
/// The decoder is a value type without I/O: feed it a cumulation buffer and it returns one frame at
/// a time, leaving every byte it did not consume in the buffer. That lets a connection stop decoding
/// after any frame (OpenTunnel hands the remaining bytes to the tunnel).
public struct FrameDecoder: Sendable {
  /// The largest frame accepted (bytes after the length prefix).
  public var maxFrameSize: Int

  /// Creates a decoder with a size limit.
  public init(maxFrameSize: Int = Frame.defaultMaxFrameSize) {
    self.maxFrameSize = maxFrameSize
  }

  /// Returns the next whole frame from `buffer`, or `nil` when more bytes are needed.
  ///
  /// - Throws: ``ProtocolViolation`` when the announced length is below the header size or
  ///   above ``maxFrameSize``; the length is checked as soon as its 4 bytes are in, so no payload
  ///   of an oversize frame is ever buffered by the caller's loop beyond what the peer already sent.
  public func next(from buffer: inout ByteBuffer) throws(ProtocolViolation) -> Frame? {
    guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
    guard length >= Frame.headerSize else {
      throw ProtocolViolation("frame length \(length) is shorter than the 6-byte frame header")
    }
    guard length <= maxFrameSize else {
      throw ProtocolViolation(
        "frame length \(length) exceeds the maximum frame size \(maxFrameSize)", code: .resourceExhausted)
    }
    guard buffer.readableBytes >= Frame.lengthSize + Int(length) else { return nil }
    buffer.moveReaderIndex(forwardBy: Frame.lengthSize)
    // Safe: readableBytes was checked above to cover the whole frame.
    let type = buffer.readInteger(as: UInt8.self)!
    let flags = buffer.readInteger(as: UInt8.self)!
    let callID = buffer.readInteger(as: UInt32.self)!
    let payload = buffer.readSlice(length: Int(length) - Frame.headerSize)!
    return Frame(type: FrameType(rawValue: type), flags: flags, callID: callID, payload: payload)
  }
}
