import NIOCore

/// Copies bytes both ways between two async byte streams, such as a local connection and a
/// ``Tunnel``, until both directions are done.
///
/// Each direction copies with the writer's back-pressure (a write waits while its channel is not
/// writable, and the reader stops reading meanwhile) and, when its source ends, finishes its writer
/// (a half-close when the channel allows it). An error in either direction ends both: the other
/// copy is cancelled and the error is thrown. Closing the channels is left to their owners
/// (`executeThenClose`, ``SessionServiceClient/withTunnel(sessionID:port:options:_:)``).
package enum ByteSplice {
  /// One end: its incoming bytes, its writer, and how to wait for what was written to go out.
  package struct End: Sendable {
    let inbound: NIOAsyncChannelInboundStream<ByteBuffer>
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let drain: (@Sendable () async throws -> Void)?

    /// An end whose channel this code owns: before its writer finishes, the splice waits until
    /// everything written has gone out. (NIO fails writes still queued when a half-close turns into
    /// a full close, as it does once the input is closed too, and when the owner closes the channel.)
    package init(
      _ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
      outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
      self.inbound = inbound
      self.outbound = outbound
      let channel = channel.channel
      // An empty write completes after every write queued before it (the writer's writes reach
      // the event loop in order, ahead of this one).
      self.drain = { try await channel.writeAndFlush(ByteBuffer()) }
    }

    /// A tunnel's end: its writer finishes as soon as its source ends (a ``Tunnel`` does not
    /// expose its channel to wait on).
    package init(_ tunnel: Tunnel) {
      self.inbound = tunnel.inbound
      self.outbound = tunnel.outbound
      self.drain = nil
    }
  }

  /// Copies `first.inbound` to `second.outbound` and `second.inbound` to `first.outbound`;
  /// returns once both sources have ended and both writers are finished.
  ///
  /// - Throws: the first error of either direction.
  package static func run(_ first: End, _ second: End) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await copy(first.inbound, to: second) }
      group.addTask { try await copy(second.inbound, to: first) }
      // Not waitForAll(): it waits for the other direction even after an error; leaving the
      // scope with the error cancels it instead.
      while try await group.next() != nil {}
    }
  }

  private static func copy(_ source: NIOAsyncChannelInboundStream<ByteBuffer>, to sink: End) async throws {
    for try await chunk in source {
      try await sink.outbound.write(chunk)
    }
    // A cancelled copy ends its source early: that is not the end of the stream, so no half-close.
    try Task.checkCancellation()
    try await sink.drain?()
    sink.outbound.finish()
  }
}
