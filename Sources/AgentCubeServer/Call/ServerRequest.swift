public import AgentCubeCore
public import AgentCubeTransport

/// A call's request as interceptors see it: metadata and the still-serialized message.
public struct ServerRequest: Sendable {
  /// Request metadata (`authorization`, …).
  public var metadata: Metadata
  /// The serialized request message.
  public var message: [UInt8]

  public init(metadata: Metadata, message: [UInt8]) {
    self.metadata = metadata
    self.message = message
  }
}

/// A call's successful response as interceptors see it.
public struct ServerResponse: Sendable {
  /// The serialized response message.
  public var message: [UInt8]
  /// Response trailers.
  public var trailers: Metadata
  /// For OpenTunnel: the connected sandbox channel the connection is joined with after the answer.
  public var tunnelTarget: TunnelTarget?

  public init(message: [UInt8], trailers: Metadata = Metadata(), tunnelTarget: TunnelTarget? = nil) {
    self.message = message
    self.trailers = trailers
    self.tunnelTarget = tunnelTarget
  }
}
