import AgentCube
import NIOCore
import NIOPosix

/// The Swift client's side of a run: what an SDK user writes. It sends the same 1 MiB buffer over
/// and over (as `tcp-pump source` does), half-closes, and waits for the sink's 8-byte count.
enum SwiftPump {
  /// Through a tunnel opened with the SDK's `withTunnel`; the clock starts once it is open.
  static func tunnel(_ client: AgentCubeClient, sessionID: String, bytes: Int) async throws -> Duration {
    try await client.sessions.withTunnel(sessionID: sessionID) { tunnel in
      try await pump(inbound: tunnel.inbound, outbound: tunnel.outbound, bytes: bytes)
    }
  }

  /// Straight to the sink with a plain NIO client: the cost of the Swift client without a hop.
  static func direct(host: String, port: Int, bytes: Int) async throws -> Duration {
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .channelOption(.allowRemoteHalfClosure, value: true)
      .connect(host: host, port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
      }
    return try await channel.executeThenClose { inbound, outbound in
      try await pump(inbound: inbound, outbound: outbound, bytes: bytes)
    }
  }

  private static func pump(
    inbound: NIOAsyncChannelInboundStream<ByteBuffer>, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, bytes: Int
  ) async throws -> Duration {
    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)
    let start = ContinuousClock.now
    var left = bytes
    while left > 0 {
      // Writing the same buffer again copies nothing: ByteBuffer is copy-on-write.
      let size = min(left, chunk.readableBytes)
      try await outbound.write(size == chunk.readableBytes ? chunk : chunk.getSlice(at: 0, length: size)!)
      left -= size
    }
    outbound.finish()
    var answer = ByteBuffer()
    for try await var part in inbound {
      answer.writeBuffer(&part)
      if answer.readableBytes >= 8 { break }
    }
    let elapsed = start.duration(to: .now)
    guard let counted = answer.readInteger(as: UInt64.self), counted == UInt64(bytes) else {
      throw BenchmarkError("the sink did not count \(bytes) bytes")
    }
    return elapsed
  }
}
