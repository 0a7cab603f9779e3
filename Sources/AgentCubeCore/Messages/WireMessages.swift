// The protocol's own envelope messages (Protos/agentcube/v1/wire.proto, docs/protocol.md).

/// Payload of a SETTINGS frame.
public struct WireSettings: Hashable, Sendable {
  /// Largest frame this side accepts (bytes after the length prefix).
  public var maxFrameSize: UInt32
  /// Most calls this side lets the peer have in flight.
  public var maxConcurrentCalls: UInt32
  /// Protocol version spoken.
  public var protocolVersion: UInt32
  /// Implementation name.
  public var agent: String

  public init(maxFrameSize: UInt32 = 0, maxConcurrentCalls: UInt32 = 0, protocolVersion: UInt32 = 0, agent: String = "") {
    self.maxFrameSize = maxFrameSize
    self.maxConcurrentCalls = maxConcurrentCalls
    self.protocolVersion = protocolVersion
    self.agent = agent
  }
}

/// Payload of a REQUEST frame: one whole unary call.
public struct WireRequest: Hashable, Sendable {
  /// `/<service>/<method>`.
  public var method: String
  /// Call metadata, including `authorization`.
  public var metadata: Metadata
  /// Relative deadline in microseconds; 0 means none.
  public var timeoutMicros: UInt64
  /// The serialized request message.
  public var message: [UInt8]

  public init(method: String = "", metadata: Metadata = Metadata(), timeoutMicros: UInt64 = 0, message: [UInt8] = []) {
    self.method = method
    self.metadata = metadata
    self.timeoutMicros = timeoutMicros
    self.message = message
  }
}

/// Payload of a RESPONSE frame.
public struct WireResponse: Hashable, Sendable {
  /// The status; ``StatusCode/ok`` carries a message.
  public var code: StatusCode
  /// The status message (empty on OK).
  public var statusMessage: String
  /// Error details.
  public var details: [ErrorDetail]
  /// The serialized response message; empty unless OK.
  public var message: [UInt8]
  /// Response trailers.
  public var trailers: Metadata

  public init(
    code: StatusCode = .ok, statusMessage: String = "", details: [ErrorDetail] = [], message: [UInt8] = [],
    trailers: Metadata = Metadata()
  ) {
    self.code = code
    self.statusMessage = statusMessage
    self.details = details
    self.message = message
    self.trailers = trailers
  }
}

/// Payload of a GOAWAY frame.
public struct WireGoAway: Hashable, Sendable {
  /// Highest call id the sender started or will still process.
  public var lastCallID: UInt32
  /// Why, as a status code.
  public var code: StatusCode
  /// Why, in words.
  public var message: String

  public init(lastCallID: UInt32 = 0, code: StatusCode = .ok, message: String = "") {
    self.lastCallID = lastCallID
    self.code = code
    self.message = message
  }
}
