/// The one error type that crosses the wire: a status code, a message and optional details.
///
/// Everything a handler throws becomes an ``RPCError`` in one place on the server; errors of
/// any other type become ``StatusCode/internal`` with a generic message, their details logged only.
/// Messages must never contain secrets: they are sent to the peer and logged.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The status code.
  public var code: StatusCode
  /// A human-readable message for the caller.
  public var message: String
  /// Optional machine-readable details.
  public var details: [ErrorDetail]

  /// Creates an error.
  public init(code: StatusCode, message: String, details: [ErrorDetail] = []) {
    self.code = code
    self.message = message
    self.details = details
  }

  public var description: String { "\(code): \(message)" }
}

/// A machine-readable detail of an ``RPCError``: a type name and a value.
public struct ErrorDetail: Hashable, Sendable {
  /// What kind of detail this is, e.g. `retry-after-ms`.
  public var type: String
  /// The detail's value.
  public var value: String

  /// Creates a detail.
  public init(type: String, value: String) {
    self.type = type
    self.value = value
  }
}

extension RPCError {
  /// `INVALID_ARGUMENT` with a message.
  public static func invalidArgument(_ message: String) -> RPCError { .init(code: .invalidArgument, message: message) }
  /// `NOT_FOUND` with a message.
  public static func notFound(_ message: String) -> RPCError { .init(code: .notFound, message: message) }
  /// `PERMISSION_DENIED` with a message.
  public static func permissionDenied(_ message: String) -> RPCError { .init(code: .permissionDenied, message: message) }
  /// `UNAUTHENTICATED` with a message.
  public static func unauthenticated(_ message: String) -> RPCError { .init(code: .unauthenticated, message: message) }
  /// `FAILED_PRECONDITION` with a message.
  public static func failedPrecondition(_ message: String) -> RPCError { .init(code: .failedPrecondition, message: message) }
  /// `RESOURCE_EXHAUSTED` with a message.
  public static func resourceExhausted(_ message: String) -> RPCError { .init(code: .resourceExhausted, message: message) }
  /// `UNAVAILABLE` with a message.
  public static func unavailable(_ message: String) -> RPCError { .init(code: .unavailable, message: message) }
  /// `INTERNAL` with a message.
  public static func `internal`(_ message: String) -> RPCError { .init(code: .internal, message: message) }
}
