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
  /// One end: its incoming bytes and its writer.
  package typealias End = (
    inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
  )

  /// Copies `first.inbound` to `second.outbound` and `second.inbound` to `first.outbound`;
  /// returns once both sources have ended and both writers are finished.
  ///
  /// - Throws: the first error of either direction.
  package static func run(_ first: End, _ second: End) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await copy(first.inbound, to: second.outbound) }
      group.addTask { try await copy(second.inbound, to: first.outbound) }
      // Not waitForAll(): it waits for the other direction even after an error; leaving the
      // scope with the error cancels it instead.
      while try await group.next() != nil {}
    }
  }

  private static func copy(
    _ source: NIOAsyncChannelInboundStream<ByteBuffer>, to sink: NIOAsyncChannelOutboundWriter<ByteBuffer>
  ) async throws {
    for try await chunk in source {
      try await sink.write(chunk)
    }
    // A cancelled copy ends its source early: that is not the end of the stream, so no half-close.
    try Task.checkCancellation()
    sink.finish()
  }
}
