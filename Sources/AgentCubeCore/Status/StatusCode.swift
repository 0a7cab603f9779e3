/// A status code of a call: gRPC's 17 codes with gRPC's numbers.
///
/// ``StatusCode`` is a struct over the raw number so that a peer's unknown code survives a round
/// trip; the static members are the codes the protocol defines.
public struct StatusCode: Hashable, Sendable, CustomStringConvertible {
  /// The code's number on the wire.
  public var rawValue: UInt32

  /// Creates a code from its wire number; numbers above 16 are kept as they are.
  public init(rawValue: UInt32) { self.rawValue = rawValue }

  /// 0: the call succeeded.
  public static let ok = StatusCode(rawValue: 0)
  /// 1: the call was cancelled, usually by the caller.
  public static let cancelled = StatusCode(rawValue: 1)
  /// 2: an error that fits no other code.
  public static let unknown = StatusCode(rawValue: 2)
  /// 3: the caller sent an invalid argument.
  public static let invalidArgument = StatusCode(rawValue: 3)
  /// 4: the deadline expired before the call completed.
  public static let deadlineExceeded = StatusCode(rawValue: 4)
  /// 5: the requested entity does not exist.
  public static let notFound = StatusCode(rawValue: 5)
  /// 6: the entity the caller tried to create already exists.
  public static let alreadyExists = StatusCode(rawValue: 6)
  /// 7: the caller may not do this.
  public static let permissionDenied = StatusCode(rawValue: 7)
  /// 8: a limit was reached (calls in flight, sessions, sizes).
  public static let resourceExhausted = StatusCode(rawValue: 8)
  /// 9: the system is not in the state the call needs.
  public static let failedPrecondition = StatusCode(rawValue: 9)
  /// 10: the call was aborted, typically by a concurrency conflict.
  public static let aborted = StatusCode(rawValue: 10)
  /// 11: the call went past the valid range.
  public static let outOfRange = StatusCode(rawValue: 11)
  /// 12: the method is not implemented or not known.
  public static let unimplemented = StatusCode(rawValue: 12)
  /// 13: an internal invariant broke; details are in the server's log only.
  public static let `internal` = StatusCode(rawValue: 13)
  /// 14: the service is unavailable for now; retrying may help.
  public static let unavailable = StatusCode(rawValue: 14)
  /// 15: data was lost or corrupted.
  public static let dataLoss = StatusCode(rawValue: 15)
  /// 16: the caller did not present valid credentials.
  public static let unauthenticated = StatusCode(rawValue: 16)

  private static let names = [
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
  ]

  /// The code's canonical upper-case name, e.g. `NOT_FOUND`.
  public var description: String {
    rawValue < Self.names.count ? Self.names[Int(rawValue)] : "CODE_\(rawValue)"
  }
}
