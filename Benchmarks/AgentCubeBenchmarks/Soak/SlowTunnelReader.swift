import AgentCube
import NIOCore

/// A tunnel to an echo port that writes fast and reads the echoes slowly. The server must pass the
/// back-pressure on (the sandbox's echo stalls, then the client's writes) rather than buffer; the
/// echoed bytes are still checked, in order.
struct SlowTunnelReader {
  var client: AgentCubeClient
  var session: String
  var port: UInt32
  /// Bytes read per second.
  var readBytesPerSecond: Int

  /// Bytes written and bytes read back.
  func run(index: Int, until deadline: ContinuousClock.Instant) async -> SlowReading {
    var result = SlowReading()
    let pattern = ByteBuffer(bytes: (0..<251).map { UInt8($0) })  // a prime length: chunk edges shift
    do {
      try await client.sessions.withTunnel(sessionID: session, port: port) { tunnel in
        let outbound = tunnel.outbound
        let writer = Task {
          var written = 0
          while ContinuousClock.now < deadline {
            var chunk = ByteBuffer()
            for _ in 0..<64 { chunk.writeImmutableBuffer(pattern) }
            do { try await outbound.write(chunk) } catch { break }
            written += chunk.readableBytes
          }
          return written
        }
        let start = ContinuousClock.now
        var expected = 0
        for try await chunk in tunnel.inbound {
          for byte in chunk.readableBytesView {
            guard byte == UInt8(expected % 251) else {
              throw UnexpectedAnswer("slow tunnel \(index): byte \(expected) came back altered")
            }
            expected += 1
          }
          result.read = expected
          if ContinuousClock.now >= deadline { break }
          try await Task.sleep(
            until: start + .seconds(Double(expected) / Double(readBytesPerSecond)), clock: .continuous)
        }
        if ContinuousClock.now < deadline {
          throw UnexpectedAnswer("slow tunnel \(index): the echo ended early, after \(expected) bytes")
        }
        // The scope's end closes the tunnel, which ends a write held up by back-pressure.
        writer.cancel()
        outbound.finish()
        result.sent = await writer.value
      }
    } catch {
      result.tally.outcomes[.init(method: "slow tunnel", code: .unknown, expected: false), default: 0] += 1
      result.tally.noteUnexpected("slow tunnel \(index) after \(result.read) bytes: \(error)")
    }
    return result
  }
}
