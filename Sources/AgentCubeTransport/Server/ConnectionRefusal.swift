import AgentCubeCore
import NIOCore

/// Answers a connection over a limit: the server's preface, a GOAWAY `RESOURCE_EXHAUSTED` saying
/// which limit and to retry later, then FIN. What the client sends meanwhile is read and dropped,
/// so that no reset destroys the GOAWAY before it is read; the connection closes when the client
/// closes its side, or after a second at most.
final class ConnectionRefusal: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  private let reason: String

  init(reason: String) { self.reason = reason }

  func handlerAdded(context: ChannelHandlerContext) {
    var buffer = context.channel.allocator.buffer(capacity: 64 + reason.utf8.count)
    Preface.write(version: Preface.currentVersion, into: &buffer)
    try? buffer.writeFrame(type: .goAway, callID: 0, message: WireGoAway(lastCallID: 0, code: .resourceExhausted, message: reason))
    let channel = context.channel
    context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in channel.close(mode: .output, promise: nil) }
    channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
  }
}
