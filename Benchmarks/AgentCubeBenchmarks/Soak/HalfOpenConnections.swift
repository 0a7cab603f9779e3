import AgentCube
import AgentCubeProtobuf
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore

/// Connections that start and never finish: nothing sent, part of the preface, or a preface and
/// part of a frame. The server must end each by itself within its preface or frame-read timeout
/// (docs/protocol.md §8), the last with GOAWAY `DEADLINE_EXCEEDED`; `concurrent` are held at a time.
struct HalfOpenConnections {
  enum Kind: String, CaseIterable, Sendable {
    case silent = "half-open: nothing sent"
    case partialPreface = "half-open: 4 bytes of the preface"
    case partialFrame = "half-open: preface, then 7 bytes of a frame"
  }

  var socketPath: String
  var concurrent: Int
  /// The server's preface and frame-read timeout (both 10 s by default).
  var serverTimeout: Duration
  /// How much later than ``serverTimeout`` a close still counts as in time.
  var slack: Duration

  struct Result: Sendable {
    var injected: [Kind: Int] = [:]
    /// Seconds from the last byte sent to the server's close, per kind.
    var reclaimSeconds: [Kind: [Double]] = [:]
    var tally = SoakTally()
  }

  func run(until deadline: ContinuousClock.Instant) async -> Result {
    await withTaskGroup(of: Result.self) { group in
      for index in 0..<concurrent {
        group.addTask {
          var result = Result()
          var turn = index
          while ContinuousClock.now < deadline {
            let kind = Kind.allCases[turn % Kind.allCases.count]
            turn += 1
            await holdOne(kind, into: &result)
          }
          return result
        }
      }
      var total = Result()
      for await part in group {
        total.injected.merge(part.injected, uniquingKeysWith: +)
        total.reclaimSeconds.merge(part.reclaimSeconds, uniquingKeysWith: +)
        total.tally.merge(part.tally)
      }
      return total
    }
  }

  private func holdOne(_ kind: Kind, into result: inout Result) async {
    result.injected[kind, default: 0] += 1
    var failure: String?
    do {
      let raw = try await RawConnection.connect(unixSocket: socketPath)
      var bytes = ByteBuffer()
      switch kind {
      case .silent: break
      case .partialPreface: bytes.writeBytes(Preface.magic.prefix(4))
      case .partialFrame:
        bytes = RawFrames.opening()
        bytes.writeBytes([0, 0, 0, 64, 1, 0, 0])  // a REQUEST of 64 bytes announced, 3 of its header sent
      }
      if bytes.readableBytes > 0 { try await raw.send(bytes) }
      let start = ContinuousClock.now
      let answer: ByteBuffer
      do {
        answer = try await raw.readToEnd(timeout: serverTimeout + slack)
      } catch {
        await raw.close()
        throw error
      }
      result.reclaimSeconds[kind, default: []].append((ContinuousClock.now - start).seconds)
      await raw.close()
      failure = Self.check(answer, after: kind)
    } catch {
      failure = "\(error)"
    }
    if let failure {
      result.tally.outcomes[.init(method: kind.rawValue, code: .deadlineExceeded, expected: false), default: 0] += 1
      result.tally.noteUnexpected("\(kind.rawValue): \(failure)")
    }
  }

  /// What the server should have sent before closing: nothing before a whole preface; after one,
  /// its preface, SETTINGS and a GOAWAY `DEADLINE_EXCEEDED`.
  private static func check(_ answer: ByteBuffer, after kind: Kind) -> String? {
    var answer = answer
    guard kind == .partialFrame else {
      return answer.readableBytes == 0 ? nil : "the server sent \(answer.readableBytes) bytes before closing"
    }
    guard case .some(.preface) = Preface.parse(&answer) else { return "no server preface" }
    let decoder = FrameDecoder()
    while let frame = try? decoder.next(from: &answer) {
      guard frame.type == .goAway else { continue }
      guard let goAway = try? WireGoAway(payload: frame.payload) else { return "malformed GOAWAY" }
      return goAway.code == .deadlineExceeded ? nil : "GOAWAY \(goAway.code), not DEADLINE_EXCEEDED"
    }
    return "closed without GOAWAY"
  }
}
