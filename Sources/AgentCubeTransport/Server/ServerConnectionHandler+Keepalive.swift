import AgentCubeCore
import Logging
import NIOCore

/// Server keepalive: a connection that has sent nothing for the keepalive interval gets a PING;
/// one that then sends nothing within the keepalive timeout is taken for dead (GOAWAY
/// `DEADLINE_EXCEEDED`, closed, its calls cancelled). It runs whether calls are in flight or
/// not, which the idle timer does not; tunnels have none. All on the connection's event loop.
extension ServerConnectionHandler {
  struct Keepalive {
    var timer: Scheduled<Void>?
    /// When the unanswered keepalive PING went out, if one did.
    var pingSentAt: NIODeadline?
    /// Keepalive PINGs sent so far; each carries the count as its 8 bytes.
    var pingsSent: UInt64 = 0
  }

  /// Starts watching once the connection is open.
  func startKeepalive() {
    scheduleKeepalive(at: lastReceived + timeAmount(configuration.keepaliveInterval))
  }

  func stopKeepalive() {
    keepalive.timer?.cancel()
    keepalive.timer = nil
    keepalive.pingSentAt = nil
  }

  /// Bytes came in: any byte answers an outstanding keepalive PING.
  func noteReceived() {
    lastReceived = .now()
    if keepalive.pingSentAt != nil {
      keepalive.pingSentAt = nil
      scheduleKeepalive(at: lastReceived + timeAmount(configuration.keepaliveInterval))
    }
  }

  private func scheduleKeepalive(at deadline: NIODeadline) {
    keepalive.timer?.cancel()
    guard let context else { return }
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    keepalive.timer = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.keepaliveFired() }
  }

  private func keepaliveFired() {
    keepalive.timer = nil
    switch state {
    case .open, .draining: break
    case .awaitingPreface, .failing, .tunnelPending, .tunnel, .closed: return  // each has an end of its own
    }
    let now = NIODeadline.now()
    if readsPaused {
      // The server is not reading (its answers wait for the peer): silence is expected, and the
      // unread-answers timer bounds it.
      keepalive.pingSentAt = nil
      return scheduleKeepalive(at: now + timeAmount(configuration.keepaliveInterval))
    }
    if keepalive.pingSentAt != nil {
      // Nothing came since the PING (a byte would have cleared it): the peer is gone or stuck.
      logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "no answer to a keepalive PING"])
      sendGoAway(
        code: .deadlineExceeded, message: "no answer to a keepalive PING within \(configuration.keepaliveTimeout)")
      return close()
    }
    let due = lastReceived + timeAmount(configuration.keepaliveInterval)
    guard due <= now else { return scheduleKeepalive(at: due) }
    guard let context else { return }
    keepalive.pingsSent &+= 1
    var buffer = context.channel.allocator.buffer(capacity: Frame.lengthSize + Frame.headerSize + 8)
    buffer.writeFrame(Frame(type: .ping, callID: 0, payload: ByteBuffer(integer: keepalive.pingsSent)))
    write(buffer)
    keepalive.pingSentAt = now
    scheduleKeepalive(at: now + timeAmount(configuration.keepaliveTimeout))
  }

  private func timeAmount(_ duration: Duration) -> TimeAmount {
    .nanoseconds(Int64(clamping: duration.nanosecondsClamped))
  }
}
