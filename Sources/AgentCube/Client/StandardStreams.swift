import NIOCore
import NIOPosix

/// The process's standard input and output as one byte stream, for `agentcube tunnel`
/// (an OpenSSH `ProxyCommand`).
package enum StandardStreams {
  /// Why standard input and output cannot carry a tunnel.
  package struct Unsupported: Error, CustomStringConvertible {
    package let description: String
  }

  /// Copies standard input to `tunnel` and `tunnel` to standard output until both are done: end
  /// of input half-closes the tunnel, the tunnel's end closes standard output.
  ///
  /// Takes ownership of descriptors 0 and 1 and closes them; nothing else may use them afterwards.
  ///
  /// - Throws: ``Unsupported`` when they are not pipes, sockets or terminals (a regular file or
  ///   `/dev/null` cannot be polled), else the first I/O error of either direction.
  package static func splice(with tunnel: Tunnel, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton)
    async throws
  {
    let stdio: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    do {
      stdio = try await NIOPipeBootstrap(group: group)
        .channelOption(.allowRemoteHalfClosure, value: true)
        .takingOwnershipOfDescriptors(input: 0, output: 1) { channel in
          channel.eventLoop.makeCompletedFuture {
            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
              wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
          }
        }
    } catch {
      throw Unsupported(description: "standard input and output must be pipes, sockets or terminals: \(error)")
    }
    try await stdio.executeThenClose { input, output in
      try await ByteSplice.run(.init(stdio, inbound: input, outbound: output), .init(tunnel))
    }
  }
}
