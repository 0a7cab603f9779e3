import AgentCubeProtobuf
import AgentCubeTransport
import NIOCore

extension SessionServiceClient {
  /// Opens a tunnel to `port` of the session's sandbox (0: its SSH port), runs `body` with it, and
  /// closes it when `body` returns.
  ///
  /// The tunnel uses a connection of its own: OpenTunnel turns its connection into raw bytes.
  ///
  /// ```swift
  /// try await client.sessions.withTunnel(sessionID: id) { tunnel in
  ///   try await tunnel.outbound.write(ByteBuffer(string: "SSH-2.0-me\r\n"))
  ///   for try await chunk in tunnel.inbound { ... }
  /// }
  /// ```
  /// - Throws: ``AgentCubeCore/RPCError`` with the server's status when the tunnel is refused.
  public func withTunnel<Result: Sendable>(
    sessionID: String, port: UInt32 = 0, options: CallOptions = .defaults,
    _ body: (Tunnel) async throws -> Result
  ) async throws -> Result {
    let wire = try client.makeWireRequest(
      MethodDescriptor.SessionService.openTunnel, OpenTunnelRequest(sessionID: sessionID, port: port), options: options)
    let deadline = ContinuousClock.now + (options.timeout ?? client.configuration.defaultTimeout)
    let connection = try await client.connections.dedicatedConnection()
    let (response, upgraded) = try await connection.openTunnel(wire, deadline: deadline) { channel, leftover in
      let asyncChannel = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
      // Bytes that arrived with the answer go first; nothing can arrive in between (same loop tick).
      if let leftover {
        channel.pipeline.fireChannelRead(leftover)
        channel.pipeline.fireChannelReadComplete()  // The async channel hands reads over on read-complete.
      }
      return asyncChannel
    }
    guard response.code == .ok, let asyncChannel = upgraded else {
      await connection.close()
      throw RPCError(code: response.code, message: response.statusMessage, details: response.details)
    }
    let target = (try? OpenTunnelResponse(protobuf: response.message).target) ?? ""
    return try await asyncChannel.executeThenClose { inbound, outbound in
      try await body(Tunnel(inbound: inbound, outbound: outbound, target: target))
    }
  }
}
