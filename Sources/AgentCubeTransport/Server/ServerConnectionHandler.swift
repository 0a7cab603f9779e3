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

  init(configuration: ServerConnectionConfiguration, dispatcher: any ServerCallDispatcher, logger: Logger) {
    self.configuration = configuration
    self.dispatcher = dispatcher
    self.logger = logger
    self.decoder = FrameDecoder(maxFrameSize: configuration.maxFrameSize)
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    peer = context.channel.remoteAddress.map { "\($0)" } ?? "unix"
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
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
    defer { cumulation = buffer }
    do {
      loop: while true {
        switch state {
        case .awaitingPreface:
          guard let parsed = Preface.parse(&buffer) else { return }
          try handlePreface(parsed)
        case .open, .draining:
          guard let frame = try decoder.next(from: &buffer) else { return }
          try handle(frame)
        case .tunnelPending, .tunnel, .closed:
          break loop
        }
      }
    } catch {
      fail(error)
    }
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
      var buffer = context!.channel.allocator.buffer(capacity: Frame.lengthSize + Frame.headerSize + 8)
      buffer.writeFrame(Frame(type: .ping, flags: Frame.pingAckFlag, callID: 0, payload: frame.payload))
      write(buffer)
    case .settings:
      guard let settings = try? WireSettings(payload: frame.payload) else {
        throw ProtocolViolation("malformed SETTINGS payload")
      }
      if settings.maxFrameSize > 0 { peerMaxFrameSize = Int(settings.maxFrameSize) }
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
      context!.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }
    start(callID: callID, request: request)
  }

  // MARK: - Calls

  private func start(callID: UInt32, request: WireRequest) {
    let context = context!
    let eventLoop = context.eventLoop
    let deadline: ContinuousClock.Instant? =
      request.timeoutMicros == 0 ? nil : .now + .microseconds(Int64(clamping: request.timeoutMicros))
    let call = IncomingCall(
      callID: callID, method: request.method, metadata: request.metadata, message: request.message,
      deadline: deadline, peer: peer, eventLoop: eventLoop)
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
      closeIfDrained()
    case .draining, .tunnelPending, .tunnel, .closed:
      break
    }
  }

  private func closeIfDrained() {
    if case .draining = state, calls.isEmpty { close() }
  }

  private func sendGoAway(code: StatusCode, message: String) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
    try? buffer.writeFrame(type: .goAway, callID: 0, message: WireGoAway(lastCallID: highestCallID, code: code, message: message))
    write(buffer)
  }

  private func fail(_ error: any Error) {
    let violation = error as? ProtocolViolation ?? ProtocolViolation("\(error)")
    logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "\(violation.message)"])
    switch state {
    case .open, .draining, .awaitingPreface: sendGoAway(code: violation.code, message: violation.message)
    case .tunnelPending, .tunnel, .closed: break
    }
    state = .closed
    close()
  }

  private func close() {
    guard let context else { return }
    if case .tunnel = state { return }
    state = .closed
    flushIfNeeded()
    context.close(promise: nil)
  }
}
