import AgentCubeCore
import AgentCubeProtobuf
import Logging
import NIOCore

/// Calls on a server connection: each runs in a task of its own, with its deadline timer on the
/// loop; its outcome (a response, or a tunnel) comes back to the loop to be written.
extension ServerConnectionHandler {
  func start(callID: UInt32, request: WireRequest) {
    let context = context!
    let eventLoop = context.eventLoop
    let deadline: ContinuousClock.Instant? =
      request.timeoutMicros == 0 ? nil : .now + .microseconds(Int64(clamping: request.timeoutMicros))
    let call = IncomingCall(
      callID: callID, method: request.method, metadata: request.metadata, message: request.message,
      deadline: deadline, peer: peer, peerCredentials: peerCredentials, tlsClientSubject: tlsClientSubject,
      eventLoop: eventLoop)
    let dispatcher = dispatcher
    let handler = NIOLoopBound(self, eventLoop: eventLoop)
    let task = Task {
      let outcome = await dispatcher.dispatch(call)
      eventLoop.execute { handler.value.complete(callID: callID, outcome: outcome) }
    }
    var timer: Scheduled<Void>?
    if request.timeoutMicros > 0 {
      timer = eventLoop.scheduleTask(in: .microseconds(Int64(clamping: request.timeoutMicros))) {
        handler.value.expire(callID: callID)
      }
    }
    calls[callID] = InFlightCall(task: task, deadlineTimer: timer)
  }

  func expire(callID: UInt32) {
    guard let call = calls.removeValue(forKey: callID) else { return }
    call.task.cancel()
    respond(callID, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
    if case .tunnelPending(callID) = state { return close() }
    closeIfDrained()
  }

  func complete(callID: UInt32, outcome: CallOutcome) {
    guard let call = calls.removeValue(forKey: callID) else {
      if case .tunnel(_, let target) = outcome { target.channel.close(promise: nil) }
      return
    }
    call.deadlineTimer?.cancel()
    switch outcome {
    case .response(let response):
      respond(callID, response: response)
      if case .tunnelPending(callID) = state {
        // A refused tunnel ends the connection: the client may already have sent raw bytes.
        flushIfNeeded()
        return close()
      }
      closeIfDrained()
    case .tunnel(let response, let target):
      guard case .tunnelPending(callID) = state, let context else {
        target.channel.close(promise: nil)
        return
      }
      state = .tunnel
      respond(callID, response: response)
      flushIfNeeded()
      let leftover = cumulation.flatMap { $0.readableBytes > 0 ? $0 : nil }
      cumulation = nil
      TunnelGlue.join(server: context.channel, removing: self, target: target, leftover: leftover, logger: logger)
    }
  }

  func respond(_ callID: UInt32, error: RPCError) {
    respond(callID, response: WireResponse(code: error.code, statusMessage: error.message, details: error.details))
  }

  func respond(_ callID: UInt32, response: WireResponse) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: Frame.lengthSize + Frame.headerSize + 16 + response.message.count)
    do {
      try buffer.writeFrame(type: .response, callID: callID, message: response)
      if buffer.readableBytes - Frame.lengthSize > peerMaxFrameSize {
        buffer.clear()
        let tooBig = WireResponse(code: .resourceExhausted, statusMessage: "response exceeds the client's maximum frame size \(peerMaxFrameSize)")
        try buffer.writeFrame(type: .response, callID: callID, message: tooBig)
      }
    } catch {
      logger.error("could not encode a response", metadata: ["rpc.call_id": "\(callID)", "error": "\(error)"])
      buffer.clear()
      try? buffer.writeFrame(type: .response, callID: callID, message: WireResponse(code: .internal, statusMessage: "internal error"))
    }
    write(buffer)
  }
}
