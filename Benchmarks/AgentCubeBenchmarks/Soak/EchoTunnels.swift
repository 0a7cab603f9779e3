import AgentCube
import AgentCubeTestSupport
import NIOCore

/// The well-behaved tunnels: each an OpenTunnel to the echo port of a pool session that sends a
/// chunk, reads it back, checks every byte, and goes on (paced) until the deadline; then it
/// half-closes and expects the sandbox's end of stream.
struct EchoTunnels {
  var count: Int
  var client: AgentCubeClient
  var pool: [String]
  var port: UInt32
  /// Bytes per round trip.
  var chunkSize: Int
  /// Bytes per second each tunnel sends at most (0: as fast as echoes come back).
  var bytesPerSecond: Int

  /// What the tunnels did.
  struct Result: Sendable {
    /// Bytes each tunnel sent and got back checked, one entry per tunnel.
    var bytesPerTunnel: [Int] = []
    var seconds: Double = 0
    var tally = SoakTally()
  }

  func run(until deadline: ContinuousClock.Instant) async -> Result {
    let start = ContinuousClock.now
    var result = await withTaskGroup(of: (Int, SoakTally).self) { group in
      for index in 0..<count {
        group.addTask {
          // A bound against a hang: the run's end, then a round trip's worth of the SDK's timeout.
          let bound = deadline - ContinuousClock.now + .seconds(30)
          guard
            let outcome = try? await withTimeout(
              bound, "tunnel \(index)", { await runOne(index: index, until: deadline) })
          else {
            var tally = SoakTally()
            tally.outcomes[.init(method: "tunnel round trip", code: .deadlineExceeded, expected: false), default: 0] +=
              1
            tally.noteUnexpected("tunnel \(index) did not end within \(bound)")
            return (0, tally)
          }
          return outcome
        }
      }
      var result = Result()
      for await (bytes, tally) in group {
        result.bytesPerTunnel.append(bytes)
        result.tally.merge(tally)
      }
      return result
    }
    result.seconds = (ContinuousClock.now - start).seconds
    return result
  }

  /// One tunnel; returns the bytes it moved (checked) and its tally (method `OpenTunnel` for the
  /// open, `tunnel round trip` for each chunk's echo).
  private func runOne(index: Int, until deadline: ContinuousClock.Instant) async -> (Int, SoakTally) {
    var tally = SoakTally()
    var moved = 0
    let session = pool[index % pool.count]
    var chunk = ByteBuffer(repeating: 0, count: chunkSize)
    // A pattern of this tunnel's own, so that bytes of another tunnel would not pass the check.
    for offset in 0..<chunkSize { chunk.setInteger(UInt8(truncatingIfNeeded: offset &* 7 &+ index), at: offset) }
    let opened = ContinuousClock.now
    do {
      try await client.sessions.withTunnel(sessionID: session, port: port) { tunnel in
        tally.record("OpenTunnel", latency: ContinuousClock.now - opened, code: .ok, expected: true)
        var inbound = tunnel.inbound.makeAsyncIterator()
        let start = ContinuousClock.now
        var round: UInt64 = 0
        while ContinuousClock.now < deadline {
          // Each round's first 8 bytes are its number: a lost or repeated chunk fails the check.
          chunk.setInteger(round, at: 0)
          let sent = ContinuousClock.now
          try await tunnel.outbound.write(chunk)
          let echoed = try await Self.read(chunk.readableBytes, from: &inbound)
          guard echoed == chunk else { throw UnexpectedAnswer("tunnel \(index): round \(round) came back altered") }
          tally.record("tunnel round trip", latency: ContinuousClock.now - sent, code: .ok, expected: true)
          moved += chunk.readableBytes
          round += 1
          if bytesPerSecond > 0 {
            try await Task.sleep(until: start + .seconds(Double(moved) / Double(bytesPerSecond)), clock: .continuous)
          }
        }
        // Half-close: the echo server sees end of input and closes its side.
        tunnel.outbound.finish()
        let rest = try await Self.read(.max, from: &inbound)
        guard rest.readableBytes == 0 else {
          throw UnexpectedAnswer("tunnel \(index): \(rest.readableBytes) bytes after the end")
        }
      }
    } catch let error as RPCError {
      tally.record(
        "OpenTunnel", latency: ContinuousClock.now - opened, code: error.code, expected: false, detail: error.message)
    } catch {
      tally.noteUnexpected("tunnel \(index) after \(moved) bytes: \(error)")
      tally.outcomes[.init(method: "tunnel round trip", code: .unknown, expected: false), default: 0] += 1
    }
    return (moved, tally)
  }

  /// Reads exactly `count` bytes, or (with `.max`) everything until the stream ends; throws when
  /// the stream ends short of `count`.
  static func read(
    _ count: Int, from inbound: inout NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
  ) async throws -> ByteBuffer {
    var received = ByteBuffer()
    while received.readableBytes < count {
      guard var part = try await inbound.next() else {
        if count == .max { return received }
        throw UnexpectedAnswer("tunnel closed after \(received.readableBytes) of \(count) bytes")
      }
      received.writeBuffer(&part)
    }
    return received
  }
}
