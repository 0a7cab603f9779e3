/// A value that has a protobuf encoding through protobuf-c.
///
/// Every message type of `AgentCubeCore` conforms: the `agentcube.v1.wire` envelopes (``WireSettings``,
/// ``WireRequest``, ``WireResponse``, ``WireGoAway``), ``Session`` and the request and response messages of
/// `agentcube.v1.SessionService` and `agentcube.v1.Health`.
///
/// Decoding tolerates unknown fields and unknown enum numbers (``SessionStatus/unspecified``,
/// ``HealthCheckResponse/ServingStatus/unknown``). protobuf-c keeps strings as NUL-terminated C strings and
/// does not check UTF-8, so this layer does: a string field that is not valid UTF-8 or holds a NUL byte is
/// rejected on decode, and a string holding a NUL byte is rejected on encode rather than cut short.
///
/// ```swift
/// let bytes = try GetSessionRequest(sessionID: id).protobufBytes()
/// let request = try GetSessionRequest(protobuf: bytes)
/// ```
public protocol ProtobufCodable: Sendable {
  /// Decodes from serialized protobuf bytes.
  ///
  /// - Throws: ``RPCError`` `INVALID_ARGUMENT`: "malformed <full proto message name>" for bytes that are not
  ///   the message, "<Message>.<field> is not valid UTF-8" or "<Message>.<field> contains a NUL byte" for a
  ///   string field protobuf-c cannot hand over intact.
  init(protobuf bytes: UnsafeRawBufferPointer) throws

  /// Encodes and hands the serialized bytes to `body`; they are valid only inside `body`.
  ///
  /// Small messages are encoded without heap allocations.
  ///
  /// - Throws: ``RPCError`` `INVALID_ARGUMENT` "<Message>.<field> contains a NUL byte" when a string holds
  ///   NUL, which a protobuf-c string cannot carry; otherwise whatever `body` throws.
  func withProtobufBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
}

extension ProtobufCodable {
  /// Decodes from serialized protobuf bytes; see ``init(protobuf:)-(UnsafeRawBufferPointer)``.
  public init(protobuf bytes: [UInt8]) throws {
    self = try bytes.withUnsafeBytes { try Self(protobuf: $0) }
  }

  /// The serialized protobuf bytes; see ``withProtobufBytes(_:)``.
  public func protobufBytes() throws -> [UInt8] {
    try withProtobufBytes { Array($0) }
  }
}
