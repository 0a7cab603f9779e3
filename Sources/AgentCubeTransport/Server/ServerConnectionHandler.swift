import AgentCubeCore
import AgentCubeProtobuf
import Logging
import NIOCore
import NIOTLS

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

  enum State {
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

  struct InFlightCall {
    var task: Task<Void, Never>
    var deadlineTimer: Scheduled<Void>?
  }

  let configuration: ServerConnectionConfiguration
  let dispatcher: any ServerCallDispatcher
  let logger: Logger
  let decoder: FrameDecoder
  let envelopeLimits = RequestEnvelopeLimits()
  var state = State.awaitingPreface
  var cumulation: ByteBuffer?
  var calls: [UInt32: InFlightCall] = [:]
  var highestCallID: UInt32 = 0
  var peerMaxFrameSize = Frame.defaultMaxFrameSize
  var peer = "unknown"
  var flushScheduled = false
  var context: ChannelHandlerContext?
  /// The one timer of the connection's current wait: the preface, a frame's remaining bytes, an
  /// idle connection, or the grace after a violation.
  var timer: Scheduled<Void>?
  /// What ``timer`` waits for.
  var timerPurpose = TimerPurpose.preface
  /// The peer closed its side (FIN): answer what is in flight, then close.
  var inputClosed = false
  /// When the last PING came, and how many came too soon in a row.
  var lastPing: NIODeadline?
  var pingStrikes = 0
  /// The peer is not reading its answers (the channel is not writable): nothing more is read or
  /// decoded until it does.
  var readsPaused = false
  /// When the last bytes came from the peer, and the keepalive PING that waits for more.
  var lastReceived = NIODeadline.now()
  var keepalive = Keepalive()

  let peerCredentials: PeerCredentials?
  /// The verified client certificate's subject, once a mutual-TLS handshake completed.
  var tlsClientSubject: String?

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
    stopKeepalive()
    self.context = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    disarm()
    stopKeepalive()
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
    } else if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
      tlsClientSubject = TLSClientSubject.of(context.channel)
      context.fireUserInboundEventTriggered(event)
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
    noteReceived()
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

  func processCumulation() {
    guard var buffer = cumulation else { return }
    var decodedFrame = false
    // A PING ACK answers the server's keepalive: it does not make an idle connection busy.
    var decodedActivity = false
    defer {
      cumulation = buffer
      watchPartialFrame(pending: buffer.readableBytes > 0, decodedFrame: decodedFrame, activity: decodedActivity)
    }
    do {
      loop: while true {
        switch state {
        case .awaitingPreface:
          guard let parsed = Preface.parse(&buffer) else { return }
          try handlePreface(parsed)
          // The idle (or frame) timer starts on the way out, when what is left of the read is known.
          decodedActivity = true
        case .open, .draining:
          guard !readsPaused, let frame = try decoder.next(from: &buffer) else { return }
          decodedFrame = true
          if frame.type != .ping || frame.flags & Frame.pingAckFlag == 0 { decodedActivity = true }
          try handle(frame)
        case .failing, .tunnelPending, .tunnel, .closed:
          break loop
        }
      }
    } catch {
      fail(error)
    }
  }

  func handlePreface(_ parsed: Preface.Parsed) throws(ProtocolViolation) {
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
      startKeepalive()
      var buffer = context!.channel.allocator.buffer(capacity: 64)
      Preface.write(version: min(version, Preface.currentVersion), into: &buffer)
      let settings = WireSettings(
        maxFrameSize: UInt32(configuration.maxFrameSize), maxConcurrentCalls: UInt32(configuration.maxConcurrentCalls),
        protocolVersion: UInt32(Preface.currentVersion), agent: configuration.agent)
      try? buffer.writeFrame(type: .settings, callID: 0, message: settings)
      write(buffer)
    }
  }

  func handle(_ frame: Frame) throws(ProtocolViolation) {
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
      guard frame.payload.readableBytes == 8 else {
        throw ProtocolViolation("a PING carries exactly 8 bytes, not \(frame.payload.readableBytes)")
      }
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

  func handleRequest(_ frame: Frame) throws(ProtocolViolation) {
    let callID = frame.callID
    guard callID != 0 else { throw ProtocolViolation("REQUEST frames need a non-zero call id") }
    guard calls[callID] == nil else { throw ProtocolViolation("call id \(callID) is already in flight") }
    highestCallID = max(highestCallID, callID)

    guard case .open = state else {
      return respond(callID, error: .unavailable("server is shutting down; retry on a new connection"))
    }
    if let violation = envelopeLimits.violation(in: frame.payload) {
      logger.warning("call refused by a limit", metadata: ["peer": "\(peer)", "limit": "request-metadata"])
      return respond(callID, error: violation)
    }
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
      logger.warning("call refused by a limit", metadata: ["peer": "\(peer)", "limit": "max-concurrent-calls"])
      return respond(callID, error: .resourceExhausted("too many calls in flight on this connection (max \(configuration.maxConcurrentCalls))"))
    }
    if isTunnel {
      state = .tunnelPending(callID: callID)
      disarm()  // tunnel bytes have no frame timing and no keepalive
      stopKeepalive()
      context!.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }
    start(callID: callID, request: request)
    if timerPurpose == .idle { disarm() }
  }

  // MARK: - Writing and closing

  func write(_ buffer: ByteBuffer) {
    guard let context else { return }
    context.write(wrapOutboundOut(buffer), promise: nil)
    guard !flushScheduled else { return }
    flushScheduled = true
    let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
    context.eventLoop.execute { handler.value.flushIfNeeded() }
  }

  func flushIfNeeded() {
    guard flushScheduled, let context else { return }
    flushScheduled = false
    context.flush()
  }

  func startDraining(code: StatusCode?, message: String) {
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

  func closeIfDrained() {
    switch state {
    case .draining, .failing:
      if calls.isEmpty { close() }
    case .open:
      if inputClosed && calls.isEmpty { close() } else { armIdleTimerIfIdle() }
    default:
      break
    }
  }

  func sendGoAway(code: StatusCode, message: String) {
    guard let context else { return }
    var buffer = context.channel.allocator.buffer(capacity: 64 + message.utf8.count)
    try? buffer.writeFrame(type: .goAway, callID: 0, message: WireGoAway(lastCallID: highestCallID, code: code, message: message))
    write(buffer)
  }

  /// A protocol violation: GOAWAY naming the highest call id received, nothing more decoded, and
  /// the calls the GOAWAY covers still answered (§8), within the violation grace.
  func fail(_ error: any Error) {
    let violation = error as? ProtocolViolation ?? ProtocolViolation("\(error)")
    logger.debug("closing connection", metadata: ["peer": "\(peer)", "reason": "\(violation.message)"])
    switch state {
    case .open, .draining, .awaitingPreface:
      if case .awaitingPreface = state, let context {
        // The server's first bytes are always its preface: a client reads 8 bytes, then frames.
        var preface = context.channel.allocator.buffer(capacity: Preface.length)
        Preface.write(version: Preface.currentVersion, into: &preface)
        write(preface)
      }
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

  func close() {
    guard let context else { return }
    if case .tunnel = state { return }
    state = .closed
    flushIfNeeded()
    context.close(promise: nil)
  }
}
