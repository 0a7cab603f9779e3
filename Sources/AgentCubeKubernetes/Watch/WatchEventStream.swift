import AgentCubeCore
import Foundation

/// The events of one watch request as they arrive: an `AsyncSequence` of ``WatchEvent``s that
/// ends when the server ends the watch (its `timeoutSeconds`, or after an `ERROR` event).
///
/// Failures are ``AgentCubeCore/RPCError``s: `UNAVAILABLE` when the stream broke (cut, idle
/// timeout; resuming from the last resourceVersion is safe), `RESOURCE_EXHAUSTED` for an event
/// longer than the limit and `INTERNAL` for one that is not a watch event (resuming would meet it
/// again: list anew). Dropping the stream or cancelling its reader ends the request.
public struct WatchEventStream<Object: Decodable & Sendable>: AsyncSequence, Sendable {
  public typealias Element = WatchEvent<Object>

  fileprivate enum Source: Sendable {
    case response(HTTPStreamResponse)
    /// An answer that is one event, e.g. a 410 at the start.
    case single(WatchEvent<Object>)
  }

  private let source: Source
  private let maxEventBytes: Int
  private let path: String

  init(response: HTTPStreamResponse, maxEventBytes: Int, path: String) {
    self.source = .response(response)
    self.maxEventBytes = maxEventBytes
    self.path = path
  }

  init(single event: WatchEvent<Object>, path: String) {
    self.source = .single(event)
    self.maxEventBytes = 0
    self.path = path
  }

  public struct AsyncIterator: AsyncIteratorProtocol {
    fileprivate var source: Source?
    fileprivate var splitter: JSONLineSplitter
    fileprivate var ready: [[UInt8]] = []
    fileprivate var next = 0
    fileprivate let path: String

    public mutating func next() async throws -> WatchEvent<Object>? {
      while true {
        if next < ready.count {
          let line = ready[next]
          next += 1
          if next == ready.count {
            ready = []
            next = 0
          }
          do {
            return try JSONDecoder().decode(WatchEvent<Object>.self, from: Data(line))
          } catch {
            source = nil
            throw RPCError(
              code: .internal, message: "Kubernetes API: the watch of \(path) sent a line that is not a watch event")
          }
        }
        switch source {
        case nil: return nil
        case .some(.single(let event)):
          source = nil
          return event
        case .some(.response(let response)):
          let chunk: [UInt8]?
          do {
            chunk = try await response.channel.next()
          } catch let error as HTTPTransferError {
            source = nil
            throw RPCError.unavailable("Kubernetes API: the watch of \(path) broke: \(error.description)")
          }
          guard let chunk else {
            source = nil
            if splitter.holdsPartialLine {
              throw RPCError.unavailable("Kubernetes API: the watch of \(path) ended inside an event")
            }
            return nil
          }
          do {
            ready = try splitter.append(chunk)
          } catch {
            source = nil
            response.cancel()
            throw RPCError.resourceExhausted(
              "Kubernetes API: an event of the watch of \(path) is longer than \(error.limit) bytes")
          }
        }
      }
    }
  }

  public func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(source: source, splitter: JSONLineSplitter(maxLineBytes: maxEventBytes), path: path)
  }
}
