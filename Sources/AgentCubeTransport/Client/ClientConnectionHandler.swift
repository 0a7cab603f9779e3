import AgentCubeCore
import AgentCubeProtobuf
import NIOCore
import Synchronization

/// The client side of one connection: sends the preface and SETTINGS, writes REQUEST frames and
/// matches RESPONSE frames to waiting calls. Lives on the channel's event loop.
final class ClientConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
  /// The implementation name the client announces in its SETTINGS.
  static let agent = "agentcube-swift/0.1"

  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  typealias Continuation = CheckedContinuation<WireResponse, any Error>

  private enum State {
    case awaitingPreface
    case open
    /// The server sent GOAWAY: calls up to `lastCallID` still get answers; no new calls.
    case goingAway(lastCallID: UInt32)
    /// An OpenTunnel answer arrived with OK: the rest of the stream is raw bytes.
    case tunnel
    case closed(RPCError)

    var mayHaveCallsRunning: Bool {
      switch self {
      case .awaitingPreface, .open, .goingAway: true
      case .tunnel, .closed: false
      }
    }
  }

  private struct PendingCall {
    var continuation: Continuation
    var timer: Scheduled<Void>?
    var isTunnel: Bool
  }

  private let maxFrameSize: Int
  private let decoder: FrameDecoder
  private var state = State.awaitingPreface {
    didSet { flags.acceptsCalls.store(acceptsCalls, ordering: .relaxed) }
  }
  private var cumulation: ByteBuffer?
  private var pending: [UInt32: PendingCall] = [:]
  private var cancelledBeforeStart: Set<UInt32> = []
  private var context: ChannelHandlerContext?
  /// Bytes that followed an OK OpenTunnel answer; the tunnel takes them.
  private(set) var tunnelLeftover: ByteBuffer?
  /// The server's SETTINGS, once received.
  private(set) var serverSettings: WireSettings?

  private let flags: ClientConnectionFlags

  init(maxFrameSize: Int, flags: ClientConnectionFlags) {
    self.flags = flags
    self.maxFrameSize = maxFrameSize
    self.decoder = FrameDecoder(maxFrameSize: maxFrameSize)
  }

  /// Whether new calls may start on this connection.
  var acceptsCalls: Bool {
    switch state {
    case .awaitingPreface, .open: true
    case .goingAway, .tunnel, .closed: false
    }
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    if context.channel.isActive { sendPreface(context: context) }
  }

  func channelActive(context: ChannelHandlerContext) {
    sendPreface(context: context)
    context.fireChannelActive()
  }

  func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

  private var prefaceSent = false

  private func sendPreface(context: ChannelHandlerContext) {
    guard !prefaceSent else { return }
    prefaceSent = true
    var buffer = context.channel.allocator.buffer(capacity: 64)
    Preface.write(into: &buffer)
    try? buffer.writeFrame(
      type: .settings, callID: 0,
      message: WireSettings(maxFrameSize: UInt32(maxFrameSize), protocolVersion: UInt32(Preface.currentVersion), agent: Self.agent))
    context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
  }

  // MARK: - Calls

  /// Writes a REQUEST frame and remembers `continuation` until its RESPONSE.
  func start(callID: UInt32, request: WireRequest, deadline: NIODeadline?, isTunnel: Bool, continuation: Continuation) {
    if cancelledBeforeStart.remove(callID) != nil {
      return continuation.resume(throwing: RPCError(code: .cancelled, message: "call cancelled"))
    }
    if case .closed(let error) = state { return continuation.resume(throwing: error) }
    guard acceptsCalls, let context else {
      return continuation.resume(throwing: RPCError.unavailable("connection is closing; retry on a new connection"))
    }
    if isTunnel, !pending.isEmpty {
      return continuation.resume(throwing: RPCError.failedPrecondition("OpenTunnel needs a connection with no other calls in flight"))
    }
    var buffer = context.channel.allocator.buffer(capacity: 64 + request.message.count + request.method.utf8.count)
    do {
      try buffer.writeFrame(type: .request, callID: callID, message: request)
    } catch {
      return continuation.resume(throwing: error)
    }
    if buffer.readableBytes - Frame.lengthSize > Int(serverSettings?.maxFrameSize ?? UInt32(Frame.defaultMaxFrameSize)) {
      return continuation.resume(throwing: RPCError.resourceExhausted("request exceeds the server's maximum frame size"))
    }
    var timer: Scheduled<Void>?
    if let deadline {
      let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
      timer = context.eventLoop.scheduleTask(deadline: deadline) {
        handler.value.abandon(callID: callID, error: RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
      }
    }
    pending[callID] = PendingCall(continuation: continuation, timer: timer, isTunnel: isTunnel)
    context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
  }

  /// The caller gave up: tell the server and fail the call with CANCELLED.
  func cancel(callID: UInt32) {
    guard pending[callID] != nil else {
      cancelledBeforeStart.insert(callID)
      return
    }
    abandon(callID: callID, error: RPCError(code: .cancelled, message: "call cancelled"))
  }

  private func abandon(callID: UInt32, error: RPCError) {
    guard let call = pending.removeValue(forKey: callID) else { return }
    call.timer?.cancel()
    // The server must hear of it in every state in which it may be running the call: also before
    // its preface has been read here (the REQUEST went out right after ours), and after its GOAWAY.
    if let context, state.mayHaveCallsRunning {
      var buffer = context.channel.allocator.buffer(capacity: Frame.lengthSize + Frame.headerSize)
      buffer.writeFrame(Frame(type: .cancel, callID: callID, payload: ByteBuffer()))
      context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
    if call.isTunnel { context?.close(promise: nil) }
    call.continuation.resume(throwing: error)
  }

  // MARK: - Reading

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var incoming = unwrapInboundIn(data)
    cumulation.accumulate(&incoming)
    guard var buffer = cumulation else { return }
    defer { cumulation = buffer }
    do {
      loop: while true {
        switch state {
        case .awaitingPreface:
          guard let parsed = Preface.parse(&buffer) else { return }
          guard case .preface(let version) = parsed, version >= 1 else {
            throw ProtocolViolation("the server did not answer with the AgentCube preface", code: .unavailable)
          }
          state = .open
        case .open, .goingAway:
          guard let frame = try decoder.next(from: &buffer) else { return }
          try handle(frame)
        case .tunnel:
          // Raw tunnel bytes: kept until the tunnel takes over the channel.
          if buffer.readableBytes > 0 { tunnelLeftover.accumulate(&buffer) }
          buffer = ByteBuffer()
          break loop
        case .closed:
          break loop
        }
      }
    } catch {
      let violation = error as? ProtocolViolation ?? ProtocolViolation("\(error)")
      failAll(RPCError(code: .unavailable, message: "connection failed: \(violation.message)"))
      context.close(promise: nil)
    }
  }

  private func handle(_ frame: Frame) throws(ProtocolViolation) {
    switch frame.type {
    case .response:
      guard let call = pending.removeValue(forKey: frame.callID) else { return }  // Cancelled or timed out.
      call.timer?.cancel()
      do {
        let response = try WireResponse(payload: frame.payload)
        if call.isTunnel, response.code == .ok { state = .tunnel }
        call.continuation.resume(returning: response)
      } catch {
        call.continuation.resume(throwing: RPCError(code: .internal, message: "malformed RESPONSE from the server"))
      }
    case .settings:
      serverSettings = try? WireSettings(payload: frame.payload)
    case .goAway:
      let goAway = (try? WireGoAway(payload: frame.payload)) ?? WireGoAway()
      state = .goingAway(lastCallID: goAway.lastCallID)
      let reason = goAway.message.isEmpty ? "server is going away" : goAway.message
      for callID in pending.keys where callID > goAway.lastCallID {
        abandon(callID: callID, error: RPCError(code: .unavailable, message: "\(reason); retry on a new connection"))
      }
      if pending.isEmpty { context?.close(promise: nil) }
    case .ping:
      guard frame.flags & Frame.pingAckFlag == 0, let context else { return }
      // After an OpenTunnel request every byte sent is tunnel data: an ACK would land in the
      // sandbox's stream. The server stops keepalive when it reads that request and needs none.
      guard !pending.values.contains(where: \.isTunnel) else { return }
      var buffer = context.channel.allocator.buffer(capacity: 18)
      buffer.writeFrame(Frame(type: .ping, flags: Frame.pingAckFlag, callID: 0, payload: frame.payload))
      context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    case .request:
      throw ProtocolViolation("a server must not send REQUEST frames")
    default:
      break
    }
    if case .goingAway = state, pending.isEmpty { context?.close(promise: nil) }
  }

  func channelInactive(context: ChannelHandlerContext) {
    failAll(RPCError.unavailable("connection closed"))
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    failAll(RPCError.unavailable("connection failed: \(ConnectionErrorText.describe(error))"))
    context.close(promise: nil)
  }

  private func failAll(_ error: RPCError) {
    if case .tunnel = state {} else { state = .closed(error) }
    let calls = pending
    pending.removeAll()
    for call in calls.values {
      call.timer?.cancel()
      call.continuation.resume(throwing: error)
    }
  }
}
