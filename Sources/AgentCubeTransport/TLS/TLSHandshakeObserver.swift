import NIOCore
import NIOTLS

/// Completes a promise when the client's TLS handshake ends (either way), so that connecting fails
/// with the handshake's reason rather than the first call with "connection closed". Removes itself
/// once the handshake succeeded.
final class TLSHandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  let done: EventLoopPromise<Void>

  init(done: EventLoopPromise<Void>) { self.done = done }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
      done.succeed()
      context.fireUserInboundEventTriggered(event)
      context.pipeline.syncOperations.removeHandler(self, promise: nil)
      return
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    done.fail(error)
    context.fireErrorCaught(error)
  }

  func channelInactive(context: ChannelHandlerContext) {
    done.fail(ChannelError.eof)
    context.fireChannelInactive()
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    done.fail(ChannelError.eof)  // No effect once completed.
  }
}
