import AgentCube
import AgentCubeTestSupport
import NIOCore

/// Clients that vanish mid-call, at a set rate, taking turns in four ways. Their own calls may end
/// any way; only a fault that cannot be injected (the server refused a connection) is unexpected.
struct VanishingClients {
  enum Kind: String, CaseIterable, Sendable {
    case requestThenClose = "vanish: requests sent, connection closed unread"
    case partialFrameThenClose = "vanish: a request and half of another, then closed"
    case sdkCloseMidCall = "vanish: SDK call cancelled, client closed"
    case tunnelCloseMidData = "vanish: tunnel closed with echoes unread"
  }

  var socketPath: String
  var token: String
  var pool: [String]
  var echoPort: UInt32
  var perSecond: Double

  /// Faults injected per kind, and the ones that could not be.
  struct Result: Sendable {
    var injected: [Kind: Int] = [:]
    var tally = SoakTally()
  }

  func run(until deadline: ContinuousClock.Instant) async -> Result {
    var result = Result()
    guard perSecond > 0 else { return result }
    let interval = Duration.seconds(1 / perSecond)
    var next = ContinuousClock.now
    var turn = 0
    while ContinuousClock.now < deadline {
      let kind = Kind.allCases[turn % Kind.allCases.count]
      let session = pool[turn % pool.count]
      turn += 1
      let fill = UInt8(truncatingIfNeeded: turn)
      do {
        try await withTimeout(.seconds(10), kind.rawValue) { try await inject(kind, session: session, fill: fill) }
        result.injected[kind, default: 0] += 1
      } catch {
        result.tally.outcomes[.init(method: kind.rawValue, code: .unavailable, expected: false), default: 0] += 1
        result.tally.noteUnexpected("\(kind.rawValue): \(error)")
      }
      next += interval
      // Paced by the clock; a fault that took longer than the interval is not made up for.
      if next > ContinuousClock.now { try? await Task.sleep(until: next, clock: .continuous) } else { next = .now }
    }
    return result
  }

  private func inject(_ kind: Kind, session: String, fill: UInt8) async throws {
    switch kind {
    case .requestThenClose, .partialFrameThenClose:
      let raw = try await RawConnection.connect(unixSocket: socketPath)
      var bytes = RawFrames.opening()
      var list = try RawFrames.request(
        MethodDescriptor.SessionService.listSessions, ListSessionsRequest(), callID: 1, token: token)
      bytes.writeBuffer(&list)
      var get = try RawFrames.request(
        MethodDescriptor.SessionService.getSession, GetSessionRequest(sessionID: session), callID: 3, token: token)
      if kind == .partialFrameThenClose { get = get.getSlice(at: get.readerIndex, length: get.readableBytes / 2)! }
      bytes.writeBuffer(&get)
      try await raw.send(bytes)
      await raw.close()
    case .sdkCloseMidCall:
      let client = AgentCubeClient(target: .unixSocket(path: socketPath), token: .token(token))
      let call = Task {
        try await client.sessions.renewSession(RenewSessionRequest(sessionID: session, ttlSeconds: 3600))
      }
      await Task.yield()
      call.cancel()
      await client.close()
      _ = await call.result
    case .tunnelCloseMidData:
      let client = AgentCubeClient(target: .unixSocket(path: socketPath), token: .token(token))
      try await client.sessions.withTunnel(sessionID: session, port: echoPort) { tunnel in
        try await tunnel.outbound.write(ByteBuffer(repeating: fill, count: 256 << 10))
      }
      await client.close()
    }
  }
}
