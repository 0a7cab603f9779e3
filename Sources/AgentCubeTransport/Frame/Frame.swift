public import NIOCore

/// One frame of the AgentCube protocol (docs/protocol.md §3).
///
/// On the wire: a 4-byte big-endian length of everything after it, then `type` (1 byte),
/// `flags` (1 byte), `callID` (4 bytes, big-endian) and the payload.
public struct Frame: Sendable, Equatable {
  /// The frame's type.
  public var type: FrameType
  /// Type-specific flags.
  public var flags: UInt8
  /// The call the frame belongs to; 0 for connection-level frames.
  public var callID: UInt32
  /// The payload (a protobuf message for most types).
  public var payload: ByteBuffer

  /// Creates a frame.
  public init(type: FrameType, flags: UInt8 = 0, callID: UInt32, payload: ByteBuffer) {
    self.type = type
    self.flags = flags
    self.callID = callID
    self.payload = payload
  }

  /// Bytes of a frame after the length prefix and before the payload.
  public static let headerSize = 6
  /// Bytes of the length prefix.
  public static let lengthSize = 4
  /// The default and minimum accepted maximum frame size: 4 MiB.
  public static let defaultMaxFrameSize = 4 * 1024 * 1024
  /// The smallest `max_frame_size` a side may announce (as HTTP/2's SETTINGS_MAX_FRAME_SIZE): 16 KiB.
  public static let minimumMaxFrameSize: UInt32 = 16 * 1024
  /// Flag of a PING frame that answers another.
  public static let pingAckFlag: UInt8 = 0x01
}

/// The type byte of a frame. Unknown types are kept so the decoder can reject or skip them.
public struct FrameType: Hashable, Sendable, CustomStringConvertible {
  /// The byte on the wire.
  public var rawValue: UInt8
  /// Creates a type from its byte.
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  /// 0: connection settings (payload `wire.Settings`, call id 0).
  public static let settings = FrameType(rawValue: 0)
  /// 1: a whole unary call (payload `wire.Request`).
  public static let request = FrameType(rawValue: 1)
  /// 2: the answer to a call (payload `wire.Response`).
  public static let response = FrameType(rawValue: 2)
  /// 3: the client gives up on a call (empty payload).
  public static let cancel = FrameType(rawValue: 3)
  /// 4: liveness check (8 opaque bytes, echoed with the ACK flag).
  public static let ping = FrameType(rawValue: 4)
  /// 5: graceful shutdown (payload `wire.GoAway`, call id 0).
  public static let goAway = FrameType(rawValue: 5)

  public var description: String {
    switch rawValue {
    case 0: "SETTINGS"
    case 1: "REQUEST"
    case 2: "RESPONSE"
    case 3: "CANCEL"
    case 4: "PING"
    case 5: "GOAWAY"
    default: "UNKNOWN(\(rawValue))"
    }
  }
}
