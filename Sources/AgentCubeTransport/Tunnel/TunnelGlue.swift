import Logging
import NIOCore

/// Joins a client connection that finished its OpenTunnel call with the channel to the sandbox.
///
/// Both channels live on the same event loop. Back-pressure: a side stops reading while its
/// partner is not writable. Half-close: an input closed on one side becomes an output shutdown on
/// the other; both are closed once both directions are done, or at once on error.
enum TunnelGlue {
  /// Replaces `handler` on `server`'s pipeline with glue to `target`, first sending `leftover`
  /// (bytes the client sent right after its request) to the target.
  static func join(
    server: any Channel, removing handler: any RemovableChannelHandler, target: any Channel, leftover: ByteBuffer?,
    logger: Logger
  ) {
    server.eventLoop.assertInEventLoop()
    precondition(target.eventLoop === server.eventLoop, "a tunnel's target must share the connection's event loop")
    let (serverSide, targetSide) = GlueHandler.matchedPair()
    if let leftover { target.writeAndFlush(leftover, promise: nil) }
    do {
      try target.pipeline.syncOperations.addHandler(targetSide)
      try server.pipeline.syncOperations.addHandler(serverSide)
      server.pipeline.syncOperations.removeHandler(handler, promise: nil)
    } catch {
      logger.debug("could not join a tunnel", metadata: ["error": "\(error)"])
      server.close(promise: nil)
      target.close(promise: nil)
      return
    }
    server.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
    server.read()
    target.read()
  }
}

/// One half of a pair that forwards bytes between two channels.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  typealias OutboundIn = NIOAny
  typealias OutboundOut = NIOAny

  private var partner: GlueHandler?
  private var context: ChannelHandlerContext?
  private var pendingRead = false
  private var inputClosed = false
  private var outputClosed = false

  private init() {}

  static func matchedPair() -> (GlueHandler, GlueHandler) {
    let first = GlueHandler()
    let second = GlueHandler()
    first.partner = second
    second.partner = first
    return (first, second)
  }

  func handlerAdded(context: ChannelHandlerContext) { self.context = context }

  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
    partner = nil
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    partner?.context?.write(data, promise: nil)
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    partner?.context?.flush()
  }

  func channelInactive(context: ChannelHandlerContext) {
    partner?.context?.close(promise: nil)
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? ChannelEvent, case .inputClosed = event {
      inputClosed = true
      partner?.shutDownOutput()
      closeIfBothDone()
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
    partner?.context?.close(promise: nil)
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable { partner?.resumeReading() }
    context.fireChannelWritabilityChanged()
  }

  func read(context: ChannelHandlerContext) {
    if partner?.context?.channel.isWritable ?? false {
      context.read()
    } else {
      pendingRead = true
    }
  }

  private func resumeReading() {
    guard pendingRead, let context else { return }
    pendingRead = false
    context.read()
  }

  private func shutDownOutput() {
    guard let context, !outputClosed else { return }
    outputClosed = true
    context.flush()
    context.close(mode: .output, promise: nil)
    closeIfBothDone()
  }

  private func closeIfBothDone() {
    // The two directions: this side's input (-> partner's output) and the partner's input (-> this output).
    if inputClosed && outputClosed { context?.close(promise: nil) }
    if let partner, partner.inputClosed && partner.outputClosed { partner.context?.close(promise: nil) }
  }
}
