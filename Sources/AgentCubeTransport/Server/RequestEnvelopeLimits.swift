import AgentCubeCore
import NIOCore

/// Bounds on a REQUEST envelope's metadata, checked by walking its top-level protobuf fields
/// before protobuf-c unpacks it: a 4 MiB frame of empty metadata entries would otherwise decode to
/// millions of entries and hundreds of megabytes.
struct RequestEnvelopeLimits: Sendable {
  /// Most metadata entries per call. Default 64.
  var maxMetadataEntries = 64
  /// Most metadata bytes (encoded entries) per call. Default 16 KiB.
  var maxMetadataBytes = 16 * 1024

  /// `nil` when the envelope is within bounds (or malformed: protobuf-c reports that), else the error.
  func violation(in payload: ByteBuffer) -> RPCError? {
    var entries = 0
    var bytes = 0
    var buffer = payload
    while buffer.readableBytes > 0 {
      guard let tag = buffer.readVarint() else { return nil }
      switch tag & 7 {
      case 0: guard buffer.readVarint() != nil else { return nil }
      case 1: guard buffer.readSlice(length: 8) != nil else { return nil }
      case 5: guard buffer.readSlice(length: 4) != nil else { return nil }
      case 2:
        guard let length = buffer.readVarint(), length <= UInt64(buffer.readableBytes) else { return nil }
        buffer.moveReaderIndex(forwardBy: Int(length))
        if tag >> 3 == 2 {  // Request.metadata
          entries += 1
          bytes += Int(length)
          if entries > maxMetadataEntries {
            return .resourceExhausted("request metadata has more than \(maxMetadataEntries) entries")
          }
          if bytes > maxMetadataBytes {
            return .resourceExhausted("request metadata is larger than \(maxMetadataBytes) bytes")
          }
        }
      default: return nil
      }
    }
    return nil
  }
}

extension ByteBuffer {
  /// Reads a protobuf varint (at most 10 bytes); `nil` when truncated or too long.
  fileprivate mutating func readVarint() -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 70, by: 7) {
      guard let byte = readInteger(as: UInt8.self) else { return nil }
      value |= UInt64(byte & 0x7F) << UInt64(shift)
      if byte & 0x80 == 0 { return value }
    }
    return nil
  }
}
