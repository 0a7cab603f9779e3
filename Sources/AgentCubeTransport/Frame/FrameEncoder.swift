public import NIOCore

extension ByteBuffer {
  /// Appends a whole frame: length prefix, header and payload.
  public mutating func writeFrame(_ frame: Frame) {
    writeFrameHeader(type: frame.type, flags: frame.flags, callID: frame.callID, payloadLength: frame.payload.readableBytes)
    writeImmutableBuffer(frame.payload)
  }

  /// Appends a frame whose payload `writePayload` writes directly into this buffer (no copy).
  ///
  /// The length prefix is written first as a placeholder and fixed once the payload's size is known.
  public mutating func writeFrame(
    type: FrameType, flags: UInt8 = 0, callID: UInt32, writePayload: (inout ByteBuffer) throws -> Void
  ) rethrows {
    let start = writerIndex
    writeFrameHeader(type: type, flags: flags, callID: callID, payloadLength: 0)
    let payloadStart = writerIndex
    do {
      try writePayload(&self)
    } catch {
      moveWriterIndex(to: start)
      throw error
    }
    setInteger(UInt32(Frame.headerSize + writerIndex - payloadStart), at: start)
  }

  private mutating func writeFrameHeader(type: FrameType, flags: UInt8, callID: UInt32, payloadLength: Int) {
    writeMultipleIntegers(UInt32(Frame.headerSize + payloadLength), type.rawValue, flags, callID)
  }
}
