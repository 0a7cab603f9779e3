import AgentCubeCore
import AgentCubeProtobuf
public import AgentCubeTransport
import NIOCore
import NIOPosix

/// A stand-in server on a Unix socket that grants the first OpenTunnel request and sends
/// `greeting` in the same write as its OK answer, then echoes whatever arrives: a sandbox that
/// speaks first, with the timing pinned down (the real server's timing is a race). With
/// `pingFirst`, a keepalive PING comes just before the answer, as when one crosses the request.
public enum ScriptedTunnelServer {
  /// Runs `body` with the server's target; the server serves one connection.
  public static func with<T: Sendable>(
    greeting: String, pingFirst: Bool = false, _ body: (ConnectionTarget) async throws -> T
  ) async throws -> T {
    let directory = try TemporaryDirectory(prefix: "acst")
    defer { directory.remove() }
    let path = directory.file("s.sock")
    let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .bind(unixDomainSocketPath: path) { channel in
        channel.eventLoop.makeCompletedFuture {
          try NIOAsyncChannel<ByteBuffer, ByteBuffer>(
            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
      }
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        try await listener.executeThenClose { connections in
          for try await connection in connections {
            try await serve(connection, greeting: greeting, pingFirst: pingFirst)
            break
          }
        }
      }
      defer { group.cancelAll() }
      return try await body(.unixSocket(path: path))
    }
  }

  private static func serve(
    _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, greeting: String, pingFirst: Bool
  ) async throws {
    try await connection.executeThenClose { inbound, outbound in
      var received = ByteBuffer()
      var answered = false
      for try await var chunk in inbound {
        if answered {
          try await outbound.write(chunk)
          continue
        }
        received.writeBuffer(&chunk)
        guard let callID = try nextRequest(in: &received) else { continue }
        var answer = ByteBuffer()
        Preface.write(into: &answer)
        if pingFirst { answer.writeFrame(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: Array("keepaliv".utf8)))) }
        let message = try OpenTunnelResponse(target: "scripted:1").protobufBytes()
        try answer.writeFrame(type: .response, callID: callID, message: WireResponse(code: .ok, message: message))
        answer.writeString(greeting)
        try await outbound.write(answer)
        answered = true
        // Bytes after the request are tunnel bytes: echo them.
        if received.readableBytes > 0 { try await outbound.write(received) }
      }
      outbound.finish()
    }
  }

  /// Consumes the client's preface and frames up to its first REQUEST; returns that request's call
  /// id, or `nil` (consuming nothing) while more bytes are needed.
  private static func nextRequest(in buffer: inout ByteBuffer) throws -> UInt32? {
    var view = buffer
    guard Preface.parse(&view) != nil else { return nil }
    let decoder = FrameDecoder()
    while let frame = try decoder.next(from: &view) {
      if frame.type == .request {
        buffer = view
        return frame.callID
      }
    }
    return nil
  }
}
