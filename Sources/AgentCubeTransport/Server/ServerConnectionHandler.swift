import AgentCubeCore
import AgentCubeProtobuf
import Logging
import NIOCore

/// The server side of one connection: preface, framing, calls in flight, deadlines, cancellation,
/// GOAWAY, and the switch to raw bytes for OpenTunnel.
///
/// All state lives on the channel's event loop. Each call runs in its own task (the bridge from
/// NIO's callbacks into async handlers); its outcome hops back to the loop to be written.
final class ServerConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  /// Asks a connection to finish its calls and close (server shutdown).
  struct DrainEvent: Sendable {}

  private enum State {
    case awaitingPreface
    case open
    /// GOAWAY sent or received: no new calls; close once the calls in flight are done.
    case draining
    /// A protocol violation: GOAWAY sent, nothing more is decoded; the calls it covers are
    /// answered (within the violation grace), then the connection closes.
    case failing
    /// An OpenTunnel request is being decided; no more frames are decoded.
    case tunnelPending(callID: UInt32)
    case tunnel
    case closed
  }

  private struct InFlightCall {
    var task: Task<Void, Never>
    var deadlineTimer: Scheduled<Void>?
  }

  private let configuration: ServerConnectionConfiguration
  private let dispatcher: any ServerCallDispatcher
  private let logger: Logger
  private let decoder: FrameDecoder
  private let envelopeLimits = RequestEnvelopeLimits()
  private var state = State.awaitingPreface
  private var cumulation: ByteBuffer?
  private var calls: [UInt32: InFlightCall] = [:]
  private var highestCallID: UInt32 = 0
  private var peerMaxFrameSize = Frame.defaultMaxFrameSize
  private var peer = "unknown"
  private var flushScheduled = false
  private var context: ChannelHandlerContext?
  /// The one timer of the connection's current wait: the preface, a frame's remaining bytes, an
  /// idle connection, or the grace after a violation.
  private var timer: Scheduled<Void>?
  /// The peer closed its side (FIN): answer what is in flight, then close.
  private var inputClosed = false
  /// When the last PING came, and how many came too soon in a row.
  private var lastPing: NIODeadline?
  private var pingStrikes = 0

  private let peerCredentials: PeerCredentials?

  init(
    configuration: ServerConnectionConfiguration, dispatcher: any ServerCallDispatcher, peer: PeerIdentity,
    logger: Logger
  ) {
    self.configuration = configuration
    self.dispatcher = dispatcher
    self.logger = logger
    self.decoder = FrameDecoder(maxFrameSize: configuration.maxFrameSize)
    self.peer = peer.description
    self.peerCredentials = peer.credentials
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    arm(configuration.prefaceTimeout, for: .preface)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    disarm()
    self.context = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    disarm()
    state = .closed
    for call in calls.values {
      call.deadlineTimer?.cancel()
      call.task.cancel()
    }
    calls.removeAll()
    context.fireChannelInactive()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if event is DrainEvent {
      startDraining(code: .unavailable, message: "server is shutting down")
    } else if case ChannelEvent.inputClosed = event {
      // The peer will send nothing more (FIN): a half-closed peer still reads its answers.
      inputClosed = true
      switch state {
      case .awaitingPreface, .tunnelPending: close()
      case .open, .draining:
        state = .draining
        closeIfDrained()
      case .failing:
        closeIfDrained()
      case .tunnel, .closed: context.fireUserInboundEventTriggered(event)
      }
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    cumulation.accumulate(&incoming)
    processCumulation()
  }

  func channelReadComplete(context: ChannelHandlerContext) {
    flushIfNeeded()
    if var buffer = cumulation, buffer.readerIndex > 64 * 1024 {
      buffer.discardReadBytes()
      cumulation = buffer
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    logger.debug("connection error", metadata: ["peer": "\(peer)", "error": "\(error)"])
    context.close(promise: nil)
  }

  // MARK: - Decoding

  private func processCumulation() {
    guard var buffer = cumulation else { return }
    var decodedFrame = false
    defer {
      cumulation = buffer
      watchPartialFrame(pending: buffer.readableBytes > 0, decodedFrame: decodedFrame)
    }
    do {
      loop: while true {
        switch state {
        case .awaitingPreface:
          guard let parsed = Preface.parse(&buffer) else { return }
          try handlePreface(parsed)
        case .open, .draining:
          guard let frame = try decoder.next(from: &buffer) else { return }
          decodedFrame = true
          try handle(frame)
        case .failing, .tunnelPending, .tunnel, .closed:
          break loop
        }
      }
    } catch {
      fail(error)
    }
  }

  /// Keeps the frame read timeout while a frame is partly in: started at its first byte, not
  /// restarted by more bytes of the same frame; with nothing pending, the idle timeout instead.
  private func watchPartialFrame(pending: Bool, decodedFrame: Bool) {
    switch state {
    case .open, .draining: break
    default: return
    }
    if pending {
      guard decodedFrame || timerPurpose != .frame else { return }
      arm(configuration.frameReadTimeout, for: .frame)
    } else if timerPurpose == .frame || decodedFrame {
      armIdleTimerIfIdle()
    }
  }

  private enum TimerPurpose { case preface, frame, idle, grace, none }
  private var timerPurpose = TimerPurpose.preface

  /// With no call in flight and nothing pending, the idle timeout; else no timer (calls have
  /// deadlines of their own).
  private func armIdleTimerIfIdle() {
    guard case .open = state, calls.isEmpty, (cumulation?.readableBytes ?? 0) == 0 else {
      // Calls in flight have deadlines of their own; a partial frame, its own timer.
      if timerPurpose == .idle || (timerPurpose == .frame && (cumulation?.readableBytes ?? 0) == 0) { disarm() }
      return
    }
    arm(configuration.idleTimeout, for: .idle)
  }

  private func arm(_ delay: Duration, for purpose: TimerPurpose) {
    timer?.cancel()
    timerPurpose = purpose
    guard let context else { return }
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    timer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: delay.nanosecondsClamped))) {
      handler.value.timerFired(purpose)
    }
  }

  private func timerFired(_ purpose: TimerPurpose) {
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
    case .none:
      break
    }
  }

  private func disarm() {
    timer?.cancel()
    timer = nil
    timerPurpose = .none
  }

  private func handlePreface(_ parsed: Preface.Parsed) throws(ProtocolViolation) {
    switch parsed {
    case .http:
      state = .closed
      var answer = context!.channel.allocator.buffer(capacity: Preface.httpAnswer.utf8.count)
      answer.writeString(Preface.httpAnswer)
      let channel = context!.channel
      context!.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
    case .garbage:
      throw ProtocolViolation("the connection did not start with the AgentCube preface 'ACUBE\\0' + version")
    case .preface(let version):
      guard version >= 1 else {
        throw ProtocolViolation("protocol version \(version) is not supported (this server speaks 1)", code: .failedPrecondition)
      }
      state = .open
      disarm()
      armIdleTimerIfIdle()
      var buffer = context!.channel.allocator.buffer(capacity: 64)
      Preface.write(version: min(version, Preface.currentVersion), into: &buffer)
      let settings = WireSettings(
        maxFrameSize: UInt32(configuration.maxFrameSize), maxConcurrentCalls: UInt32(configuration.maxConcurrentCalls),
        protocolVersion: UInt32(Preface.currentVersion), agent: configuration.agent)
      try? buffer.writeFrame(type: .settings, callID: 0, message: settings)
      write(buffer)
    }
  }

  private func handle(_ frame: Frame) throws(ProtocolViolation) {
    switch frame.type {
    case .request:
      try handleRequest(frame)
    case .cancel:
      if let call = calls.removeValue(forKey: frame.callID) {
        call.deadlineTimer?.cancel()
        call.task.cancel()
        closeIfDrained()
      }
    case .ping:
      guard frame.flags & Frame.pingAckFlag == 0 else { return }
      let now = NIODeadline.now()
      let minimum = TimeAmount.nanoseconds(Int64(clamping: configuration.minPingInterval.nanosecondsClamped))
      if let last = lastPing, now - last < minimum {
        pingStrikes += 1
        guard pingStrikes <= configuration.maxPingStrikes else {
          throw ProtocolViolation(
            "too many pings: at most one per \(configuration.minPingInterval)", code: .resourceExhausted)
        }
      } else {
        pingStrikes = 0
      }
      lastPing = now
      var buffer = context!.channel.allocator.buffer(capacity: Frame.lengthSize + Frame.headerSize + 8)
      buffer.writeFrame(Frame(type: .ping, flags: Frame.pingAckFlag, callID: 0, payload: frame.payload))
      write(buffer)
    case .settings:
      guard let settings = try? WireSettings(payload: frame.payload) else {
        throw ProtocolViolation("malformed SETTINGS payload")
      }
      if settings.maxFrameSize > 0 {
        // As HTTP/2's SETTINGS_MAX_FRAME_SIZE: no side may ask for frames smaller than 16 KiB.
        guard settings.maxFrameSize >= Frame.minimumMaxFrameSize else {
          throw ProtocolViolation(
            "max_frame_size \(settings.maxFrameSize) is below the minimum \(Frame.minimumMaxFrameSize)", code: .invalidArgument)
        }
        peerMaxFrameSize = Int(settings.maxFrameSize)
      }
    case .goAway:
      startDraining(code: nil, message: "")
    case .response:
      throw ProtocolViolation("a client must not send RESPONSE frames")
    default:
      break  // Unknown frame types are ignored so that later versions can add some.
    }
  }

  private func handleRequest(_ frame: Frame) throws(ProtocolViolation) {
    let callID = frame.callID
    guard callID != 0 else { throw ProtocolViolation("REQUEST frames need a non-zero call id") }
    guard calls[callID] == nil else { throw ProtocolViolation("call id \(callID) is already in flight") }
    highestCallID = max(highestCallID, callID)

    guard case .open = state else {
      return respond(callID, error: .unavailable("server is shutting down; retry on a new connection"))
    }
    if let violation = envelopeLimits.violation(in: frame.payload) { return respond(callID, error: violation) }
    let request: WireRequest
    do {
      request = try WireRequest(payload: frame.payload)
    } catch let error as RPCError {
      return respond(callID, error: error)
    } catch {
      return respond(callID, error: .invalidArgument("malformed REQUEST payload"))
    }
    let isTunnel = dispatcher.isTunnel(method: request.method)
    if isTunnel, !calls.isEmpty {
      // Bytes after this request may already be raw tunnel bytes: framing cannot go on.
      respond(callID, error: .failedPrecondition("OpenTunnel needs a connection with no other calls in flight (\(calls.count) in flight)"))
      return startDraining(code: nil, message: "")
    }
    guard calls.count < configuration.maxConcurrentCalls else {
      return respond(callID, error: .resourceExhausted("too many calls in flight on this connection (max \(configuration.maxConcurrentCalls))"))
    }
    if isTunnel {
      state = .tunnelPending(callID: callID)
      disarm()  // tunnel bytes have no frame timing
      context!.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }
    start(callID: callID, request: request)
    if timerPurpose == .idle { disarm() }
  }

  // MARK: - Calls

  private func start(callID: UInt32, request: WireRequest) {
    let context = context!
    let eventLoop = context.eventLoop
    let deadline: ContinuousClock.Instant? =
      request.timeoutMicros == 0 ? nil : .now + .microseconds(Int64(clamping: request.timeoutMicros))
    let call = IncomingCall(
      callID: callID, method: request.method, metadata: request.metadata, message: request.message,
      deadline: deadline, peer: peer, peerCredentials: peerCredentials, eventLoop: eventLoop)
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

  private func expire(callID: UInt32) {
    guard let call = calls.removeValue(forKey: callID) else { return }
    call.task.cancel()
    respond(callID, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
    if case .tunnelPending(callID) = state { return close() }
    closeIfDrained()
  }

  private func complete(callID: UInt32, outcome: CallOutcome) {
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

  private func respond(_ callID: UInt32, error: RPCError) {
    respond(callID, response: WireResponse(code: error.code, statusMessage: error.message, details: error.details))
  }

  private func respond(_ callID: UInt32, response: WireResponse) {
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

  // MARK: - Writing and closing

  private func write(_ buffer: ByteBuffer) {
    guard let context else { return }
    context.write(wrapOutboundOut(buffer), promise: nil)
    guard !flushScheduled else { return }
    flushScheduled = true
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    context.eventLoop.execute { handler.value.flushIfNeeded() }
  }

  private func flushIfNeeded() {
    guard flushScheduled, let context else { return }
    flushScheduled = false
    context.flush()
  }

  private func startDraining(code: StatusCode?, message: String) {
    switch state {
    case .awaitingPreface:
      close()
    case .open:
      if let code { sendGoAway(code: code, message: message) }
      state = .draining
      if timerPurpose == .idle { disarm() }
      closeIfDrained()
    case .draining, .failing, .tunnelPending, .tunnel, .closed:
      break
    }
  }

  private func closeIfDrained() {
    switch state {
    case .draining, .failing:
      if calls.isEmpty { close() }
    case .open:
      if inputClosed && calls.isEmpty { close() } else { armIdleTimerIfIdle() }
    default:
      break
    }
  }

  private func sendGoAway(code: StatusCode, message: String) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
    try? buffer.writeFrame(type: .goAway, callID: 0, message: WireGoAway(lastCallID: highestCallID, code: code, message: message))
    write(buffer)
  }

  /// A protocol violation: GOAWAY naming the highest call id received, nothing more decoded, and
  /// the calls the GOAWAY covers still answered (§8), within the violation grace.
  private func fail(_ error: any Error) {
    let violation = error as? ProtocolViolation ?? ProtocolViolation("\(error)")
    logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "\(violation.message)"])
    switch state {
    case .open, .draining, .awaitingPreface:
      sendGoAway(code: violation.code, message: violation.message)
      state = .failing
      cumulation = nil
      context?.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
      arm(configuration.violationGrace, for: .grace)
      closeIfDrained()
    case .failing, .tunnelPending, .tunnel, .closed:
      break
    }
  }

  private func close() {
    guard let context else { return }
    if case .tunnel = state { return }
    state = .closed
    flushIfNeeded()
    context.close(promise: nil)
  }
}
