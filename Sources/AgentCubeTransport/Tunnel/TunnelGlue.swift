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
    server: any Channel, removing handler: any RemovableChannelHandler, target tunnelTarget: TunnelTarget,
    leftover: ByteBuffer?, logger: Logger
  ) {
    let target = tunnelTarget.channel
    server.eventLoop.assertInEventLoop()
    precondition(target.eventLoop === server.eventLoop, "a tunnel's target must share the connection's event loop")
    let activity = ActivityMeter(interval: tunnelTarget.activityInterval, report: tunnelTarget.onActivity)
    let (serverSide, targetSide) = GlueHandler.matchedPair(activity: activity)
    if let leftover { target.writeAndFlush(leftover, promise: nil) }
    do {
      try configureForBulk(server)
      try configureForBulk(target)
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
    target.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
  }

  /// Largest read of a tunnel channel. NIO's default (64 KiB) suits framed calls; a tunnel copies
  /// bulk bytes, and 256 KiB reads cut the server's CPU per GiB copied by about a fifth (half as
  /// many read and writev calls) and bring a 1 GiB copy to about the throughput of a splice(2)
  /// relay on the same machine (docs/benchmarks.md (tunnel section)). The buffer still starts at 2 KiB and
  /// only grows while reads fill it, so interactive traffic keeps small buffers.
  static let maximumReadSize = 256 * 1024

  /// Reads per readiness event. NIO keeps this many receive buffers per channel for reuse, even
  /// once a tunnel is idle: 2 (NIO's default is 4) bounds what a tunnel that once moved bulk data
  /// keeps to 2 × ``maximumReadSize`` per direction (4 would keep up to 1 MiB), at no measurable
  /// cost in throughput.
  static let readsPerEvent: UInt = 2

  private static func configureForBulk(_ channel: any Channel) throws {
    guard let options = channel.syncOptions else { return }
    try options.setOption(
      ChannelOptions.recvAllocator,
      value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: maximumReadSize))
    try options.setOption(ChannelOptions.maxMessagesPerRead, value: readsPerEvent)
  }
}

/// One half of a pair that forwards bytes between two channels.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny
  typealias OutboundIn = NIOAny
  typealias OutboundOut = NIOAny

  private var partner: GlueHandler?
  private var context: ChannelHandlerContext?
  private let activity: ActivityMeter
  private var pendingRead = false
  /// The peer of this side closed its output: nothing more will be read here.
  private var inputClosed = false
  /// The partner's input closed, so this side's output is being shut down (after pending writes).
  private var outputClosing = false
  /// This side's output is shut down and every byte before it was written.
  private var outputClosed = false

  private init(activity: ActivityMeter) { self.activity = activity }

  static func matchedPair(activity: ActivityMeter) -> (GlueHandler, GlueHandler) {
    let first = GlueHandler(activity: activity)
    let second = GlueHandler(activity: activity)
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
    activity.record()
  }

  func channelInactive(context: ChannelHandlerContext) {
    // The partner still owes its peer what this side sent before closing: close it after that.
    partner?.closeAfterPendingWrites()
    context.fireChannelInactive()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let event = event as? ChannelEvent, case .inputClosed = event {
      inputClosed = true
      partner?.shutDownOutput()
      if outputClosed { context.close(promise: nil) }
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

  /// Closes this side once everything written before has gone out, or after a grace of 30 s
  /// when its peer does not read.
  private func closeAfterPendingWrites() {
    guard let context else { return }
    let channel = context.channel
    let giveUp = context.eventLoop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
    context.writeAndFlush(NIOAny(ByteBuffer())).whenComplete { _ in
      giveUp.cancel()
      channel.close(promise: nil)
    }
  }

  /// Shuts this side's output once everything written before has gone out; closes the channel
  /// instead when its input is closed too (both directions done).
  ///
  /// NIO fails pending writes when a channel closes, so the close waits for an empty write that
  /// completes after every earlier one.
  private func shutDownOutput() {
    guard let context, !outputClosing else { return }
    outputClosing = true
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    let channel = context.channel
    context.writeAndFlush(NIOAny(ByteBuffer())).whenComplete { result in
      let glue = handler.value
      glue.outputClosed = true
      if case .failure = result {
        channel.close(promise: nil)
      } else if glue.inputClosed {
        channel.close(promise: nil)
      } else {
        channel.close(mode: .output, promise: nil)
      }
    }
  }

}

/// Reports tunnel traffic at most once per interval; both halves of a tunnel share one meter on
/// their common event loop, so reading the clock once per read burst is all it costs.
final class ActivityMeter {
  private let interval: TimeAmount
  private let report: @Sendable () -> Void
  private var last: NIODeadline = .distantPast

  init(interval: TimeAmount, report: @escaping @Sendable () -> Void) {
    self.interval = interval
    self.report = report
  }

  func record() {
    let now = NIODeadline.now()
    guard now - last >= interval else { return }
    last = now
    report()
  }
}
