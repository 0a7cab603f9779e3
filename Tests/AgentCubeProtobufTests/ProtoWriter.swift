// A minimal protobuf writer, independent of protobuf-c, for hand-crafting test input.

/// Builds protobuf bytes field by field.
struct ProtoWriter {
  private(set) var bytes: [UInt8] = []

  enum WireType: UInt64, CaseIterable, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
  }

  static func varint(_ value: UInt64) -> [UInt8] {
    var value = value
    var out: [UInt8] = []
    while value >= 0x80 {
      out.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    out.append(UInt8(value))
    return out
  }

  mutating func tag(_ field: UInt64, _ type: WireType) {
    bytes += Self.varint(field << 3 | type.rawValue)
  }

  mutating func varint(_ field: UInt64, _ value: UInt64) {
    tag(field, .varint)
    bytes += Self.varint(value)
  }

  mutating func lengthDelimited(_ field: UInt64, _ payload: [UInt8]) {
    tag(field, .lengthDelimited)
    bytes += Self.varint(UInt64(payload.count)) + payload
  }

  mutating func string(_ field: UInt64, _ value: String) {
    lengthDelimited(field, Array(value.utf8))
  }

  mutating func fixed32(_ field: UInt64, _ value: UInt32) {
    tag(field, .fixed32)
    bytes += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
  }

  mutating func fixed64(_ field: UInt64, _ value: UInt64) {
    tag(field, .fixed64)
    bytes += (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
  }

  /// One field of `type` with an arbitrary value.
  mutating func any(_ field: UInt64, _ type: WireType) {
    switch type {
    case .varint: varint(field, 0xDEAD_BEEF_CAFE)
    case .fixed64: fixed64(field, 0x0102_0304_0506_0708)
    case .lengthDelimited: string(field, "unknown to this version")
    case .fixed32: fixed32(field, 0xFEED_FACE)
    }
  }
}

extension ProtoWriter {
  static func message(_ build: (inout ProtoWriter) -> Void) -> [UInt8] {
    var writer = ProtoWriter()
    build(&writer)
    return writer.bytes
  }
}

/// Parses hex like "0a 02 6e 6f" (spaces ignored).
func hex(_ string: String) -> [UInt8] {
  let digits = Array(string.filter { !$0.isWhitespace })
  precondition(digits.count % 2 == 0, "odd number of hex digits")
  return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}
