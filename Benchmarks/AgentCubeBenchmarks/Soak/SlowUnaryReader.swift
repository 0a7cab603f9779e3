import AgentCube
import AgentCubeProtobuf
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore

/// A connection that sends ListSessions requests faster than it reads the answers. The server
/// must push back (stop reading while the answers wait to be written) rather than keep them all
/// in memory; the samples of the server's RSS show which it does. It pays no heed to the limit of
/// calls in flight either: `RESOURCE_EXHAUSTED` answers are expected.
struct SlowUnaryReader {
  var socketPath: String
  var token: String
  /// Requests sent per second at most (the server's push-back may make it fewer).
  var requestsPerSecond: Int
  /// Answers read per second.
  var answersPerSecond: Int

  /// Requests sent and answers read.
  func run(until deadline: ContinuousClock.Instant) async -> SlowReading {
    var result = SlowReading()
    let raw: RawConnection
    do {
      raw = try await RawConnection.connect(unixSocket: socketPath)
      try await raw.send(RawFrames.opening())
    } catch {
      result.tally.noteUnexpected("slow reader: cannot connect: \(error)")
      result.tally.outcomes[.init(method: "slow reader", code: .unavailable, expected: false), default: 0] += 1
      return result
    }
    let writer = Task { await send(on: raw, until: deadline) }
    var failure: String?
    do {
      guard case .some(.preface) = try await raw.readPreface() else { throw UnexpectedAnswer("no server preface") }
      let start = ContinuousClock.now
      while ContinuousClock.now < deadline {
        guard let frame = try await raw.readFrame() else { throw UnexpectedAnswer("the server closed the connection") }
        if frame.type == .response {
          // It ignores the limit of 100 calls in flight, so RESOURCE_EXHAUSTED is its due.
          let code = try WireResponse(payload: frame.payload).code
          let expected = code == .ok || code == .resourceExhausted
          result.tally.outcomes[.init(method: "slow reader", code: code, expected: expected), default: 0] += 1
          if !expected { result.tally.noteUnexpected("slow reader: an answer was \(code)") }
          result.read += 1
          try await Task.sleep(
            until: start + .seconds(Double(result.read) / Double(answersPerSecond)), clock: .continuous)
        } else if frame.type == .goAway {
          throw UnexpectedAnswer("GOAWAY \((try? WireGoAway(payload: frame.payload))?.code ?? .unknown)")
        }
      }
    } catch {
      failure = "\(error)"
    }
    // Closing ends a write that the server's push-back holds up.
    await raw.close()
    result.sent = await writer.value
    if let failure {
      result.tally.outcomes[.init(method: "slow reader", code: .unknown, expected: false), default: 0] += 1
      result.tally.noteUnexpected("slow reader after \(result.read) answers: \(failure)")
    }
    return result
  }

  /// Sends batches of 10 requests, paced, until the deadline or a failed write; returns how many went out.
  private func send(on raw: RawConnection, until deadline: ContinuousClock.Instant) async -> Int {
    var callID: UInt32 = 1
    var sent = 0
    let start = ContinuousClock.now
    while ContinuousClock.now < deadline {
      var batch = ByteBuffer()
      for _ in 0..<10 {
        guard
          var frame = try? RawFrames.request(
            MethodDescriptor.SessionService.listSessions, ListSessionsRequest(pageSize: 100), callID: callID,
            token: token)
        else { return sent }
        batch.writeBuffer(&frame)
        callID &+= 2
      }
      do { try await raw.send(batch) } catch { return sent }
      sent += 10
      try? await Task.sleep(until: start + .seconds(Double(sent) / Double(requestsPerSecond)), clock: .continuous)
    }
    return sent
  }
}
