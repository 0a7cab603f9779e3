public import AgentCubeCore
public import AgentCubeProtobuf

/// What every message decoder must do with arbitrary bytes.
public enum ProtobufRoundTrip {
  /// Decodes `bytes` as a `T` and checks the result.
  ///
  /// - Bytes that do not decode throw an ``RPCError`` `INVALID_ARGUMENT` with one of the documented
  ///   messages (ProtobufCodable's `init(protobuf:)`), nothing else.
  /// - Bytes that decode give a value that re-encodes without error (decoded strings never hold NUL),
  ///   whose encoding decodes to the same value and re-encodes to the same bytes (a fixed point).
  ///
  /// - Returns: the decoded value, or `nil` when the bytes were rejected.
  @discardableResult
  public static func check<T: ProtobufCodable & Hashable>(_: T.Type, _ bytes: UnsafeRawBufferPointer) -> T? {
    let value: T
    do {
      value = try T(protobuf: bytes)
    } catch let error as RPCError {
      checkDecodeError(error, T.self)
      return nil
    } catch {
      fail("\(T.self) decoding threw \(type(of: error)), not RPCError: \(error)")
    }
    let encoded: [UInt8]
    do {
      encoded = try value.protobufBytes()
    } catch {
      fail("a decoded \(T.self) does not re-encode: \(error)")
    }
    do {
      let again = try T(protobuf: encoded)
      FuzzSupport.check(again == value, "\(T.self) changed in a round trip: \(value) became \(again)")
      let reencoded = try again.protobufBytes()
      FuzzSupport.check(reencoded == encoded, "\(T.self) re-encodes to other bytes")
    } catch {
      fail("a re-encoded \(T.self) does not decode: \(error)")
    }
    return value
  }

  /// Checks that a decoding error is one ProtobufCodable documents.
  public static func checkDecodeError<T>(_ error: RPCError, _: T.Type) {
    FuzzSupport.check(error.code == .invalidArgument, "\(T.self) decoding failed with \(error.code)")
    let message = error.message
    FuzzSupport.check(
      message.hasPrefix("malformed agentcube.v1.") || message.hasSuffix(" is not valid UTF-8")
        || message.hasSuffix(" contains a NUL byte"),
      "\(T.self) decoding failed with an undocumented message: \(message)")
  }
}
