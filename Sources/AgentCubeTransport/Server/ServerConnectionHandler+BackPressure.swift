import NIOCore

/// Back-pressure from a peer that does not read its answers: while the channel is not writable
/// (more unsent bytes than its high-water mark, 64 KiB by NIO's default), the connection reads and
/// decodes nothing more, so that answers cannot pile up in memory; it goes on once the peer has
/// read them down to the low-water mark. All on the connection's event loop.
extension ServerConnectionHandler {
  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable { resumeReading() } else { pauseReading() }
    context.fireChannelWritabilityChanged()
  }

  private func pauseReading() {
    guard !readsPaused, isReadingFrames else { return }
    readsPaused = true
    context?.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    // A frame's read timeout measures the peer's sending, not this wait. Instead the peer has as
    // long as an idle connection to read its answers; after that the connection is closed.
    if timerPurpose == .frame || timerPurpose == .none { arm(configuration.idleTimeout, for: .unreadAnswers) }
  }

  private func resumeReading() {
    guard readsPaused else { return }
    readsPaused = false
    if timerPurpose == .unreadAnswers { disarm() }
    guard isReadingFrames else { return }
    // Frames that arrived before the pause first; they may pause the connection again.
    processCumulation()
    guard !readsPaused, isReadingFrames else { return }
    if timerPurpose == .none { armIdleTimerIfIdle() }
    context?.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
  }

  /// Whether the connection is in a state that decodes frames (others keep reads off themselves).
  private var isReadingFrames: Bool {
    switch state {
    case .open, .draining: true
    case .awaitingPreface, .failing, .tunnelPending, .tunnel, .closed: false
    }
  }
}
