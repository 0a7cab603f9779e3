public import NIOCore

/// A byte stream to a port of a session's sandbox, opened by
/// ``SessionServiceClient/withTunnel(sessionID:port:options:_:)``.
///
/// Read the sandbox's bytes from ``inbound``; write with ``outbound``; `outbound.finish()`
/// half-closes (the sandbox sees end of input, its answers still arrive). The tunnel's
/// connection closes when the scope that opened it ends.
public struct Tunnel: Sendable {
  /// Bytes from the sandbox, in order; ends when the sandbox closes its side.
  public let inbound: NIOAsyncChannelInboundStream<ByteBuffer>
  /// Writes bytes to the sandbox, with back-pressure; `finish()` half-closes.
  public let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
  /// `address:port` the server connected to.
  public let target: String
}
