public import NIOCore
import NIOPosix

/// A TCP client for tests of local listeners: a byte stream with half-close both ways.
public enum TCPTestClient {
  /// Connects to `host:port`; use the result within `executeThenClose`.
  public static func connect(host: String = "127.0.0.1", port: Int) async throws -> NIOAsyncChannel<
    ByteBuffer, ByteBuffer
  > {
    try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .channelOption(.allowRemoteHalfClosure, value: true)
      .connect(host: host, port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
      }
  }
}

extension NIOAsyncChannelInboundStream<ByteBuffer> {
  /// Everything until the peer closes its side (stops reading once past `limit` bytes).
  public func collect(upTo limit: Int = 64 << 20) async throws -> ByteBuffer {
    var received = ByteBuffer()
    for try await var chunk in self {
      received.writeBuffer(&chunk)
      if received.readableBytes > limit { break }
    }
    return received
  }

}
