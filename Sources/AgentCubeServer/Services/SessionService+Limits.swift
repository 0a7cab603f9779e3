import AgentCubeCore
import Logging

/// How the session service refuses a call over a per-caller limit: one status, one log line.
extension SessionService {
  /// The detail type of the retry advice in a refusal: milliseconds, a decimal integer, until a
  /// retry may succeed.
  static let retryAfterDetail = "retry-after-ms"

  /// `RESOURCE_EXHAUSTED` with `message` (plus, when `retryAfter` is known, "; retry in N ms" and
  /// a `retry-after-ms` detail), after a warning naming the caller and `limit`. Never the token.
  func refusal(_ caller: Caller, limit: String, _ message: String, retryAfter: Duration? = nil) -> RPCError {
    var metadata: Logger.Metadata = ["identity": "\(caller.identity.username)", "limit": "\(limit)"]
    var error = RPCError.resourceExhausted(message)
    if let retryAfter {
      let milliseconds = Self.roundedUpMilliseconds(retryAfter)
      error.message += "; retry in \(milliseconds) ms"
      error.details.append(ErrorDetail(type: Self.retryAfterDetail, value: "\(milliseconds)"))
      metadata["retry_after_ms"] = "\(milliseconds)"
    }
    logger.warning("call refused by a limit", metadata: metadata)
    return error
  }

  /// Whole milliseconds, rounded up so that a retry at once after them finds the limit passed.
  static func roundedUpMilliseconds(_ duration: Duration) -> Int64 {
    let (seconds, attoseconds) = duration.components
    let (millis, rest) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000)
    return max(1, seconds * 1000 + millis + (rest > 0 ? 1 : 0))
  }

  /// `5` for 5.0, `0.5` for 0.5: a rate as people write it.
  static func decimal(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
  }
}
