import AgentCubeCore
import Logging
import NIOCore

/// The one timer of a server connection: the preface, a frame's remaining bytes, an idle
/// connection, or the grace after a violation. All on the connection's event loop.
extension ServerConnectionHandler {
  /// What the one timer waits for; `unreadAnswers`: the peer to read what the server has to send
  /// (reads are paused meanwhile, see ``channelWritabilityChanged(context:)``).
  enum TimerPurpose { case preface, frame, idle, grace, unreadAnswers, none }

  /// Keeps the frame read timeout while a frame is partly in: started at its first byte, not
  /// restarted by more bytes of the same frame; with nothing pending, the idle timeout instead,
  /// restarted by frames that are `activity` (all but the ACKs of the server's keepalive PINGs).
  func watchPartialFrame(pending: Bool, decodedFrame: Bool, activity: Bool) {
    guard !readsPaused else { return }  // the timer waits for the peer to read, not to send
    switch state {
    case .open, .draining: break
    default: return
    }
    if pending {
      guard decodedFrame || timerPurpose != .frame else { return }
      arm(configuration.frameReadTimeout, for: .frame)
    } else if timerPurpose == .frame || activity {
      armIdleTimerIfIdle()
    }
  }


  /// With no call in flight and nothing pending, the idle timeout; else no timer (calls have
  /// deadlines of their own).
  func armIdleTimerIfIdle() {
    guard case .open = state, calls.isEmpty, (cumulation?.readableBytes ?? 0) == 0 else {
      // Calls in flight have deadlines of their own; a partial frame, its own timer.
      if timerPurpose == .idle || (timerPurpose == .frame && (cumulation?.readableBytes ?? 0) == 0) { disarm() }
      return
    }
    arm(configuration.idleTimeout, for: .idle)
  }

  func arm(_ delay: Duration, for purpose: TimerPurpose) {
    timer?.cancel()
    timerPurpose = purpose
    guard let context else { return }
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: delay.nanosecondsClamped))) {
      handler.value.timerFired(purpose)
    }
  }

  func timerFired(_ purpose: TimerPurpose) {
    guard purpose == timerPurpose else { return }
    timer = nil
    timerPurpose = .none
    switch purpose {
    case .preface:
      logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "no preface in time"])
      close()
    case .frame:
      fail(
        ProtocolViolation(
          "a frame did not arrive within \(configuration.frameReadTimeout) of its first byte", code: .deadlineExceeded))
    case .idle:
      logger.debug("closing idle connection", metadata: ["peer": "\(peer)"])
      startDraining(code: .ok, message: "idle for \(configuration.idleTimeout) with no call")
    case .grace:
      close()
    case .unreadAnswers:
      logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "answers left unread"])
      close()
    case .none:
      break
    }
  }

  func disarm() {
    timer?.cancel()
    timer = nil
    timerPurpose = .none
  }
}
