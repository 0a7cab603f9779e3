public import AgentCubeCore

/// A peer broke the framing rules; the connection is answered with GOAWAY and closed.
public struct ProtocolViolation: Error, Hashable, Sendable, CustomStringConvertible {
  /// What was wrong, in words safe to send to the peer.
  public var message: String
  /// The status code carried by the GOAWAY.
  public var code: StatusCode

  /// Creates a violation.
  public init(_ message: String, code: StatusCode = .invalidArgument) {
    self.message = message
    self.code = code
  }

  public var description: String { "protocol violation: \(message)" }
}
