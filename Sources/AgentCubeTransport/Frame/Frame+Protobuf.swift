public import AgentCubeProtobuf
public import NIOCore

extension ByteBuffer {
  /// Appends a frame whose payload is `message` encoded as protobuf.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `INVALID_ARGUMENT` when the message cannot be encoded
  ///   (a string with a NUL byte); nothing is appended then.
  public mutating func writeFrame(
    type: FrameType, flags: UInt8 = 0, callID: UInt32, message: some ProtobufCodable
  ) throws {
    try writeFrame(type: type, flags: flags, callID: callID) { buffer in
      _ = try message.withProtobufBytes { buffer.writeBytes($0) }
    }
  }
}

extension ProtobufCodable {
  /// Decodes a frame payload.
  public init(payload: ByteBuffer) throws {
    self = try payload.withUnsafeReadableBytes { try Self(protobuf: $0) }
  }
}
