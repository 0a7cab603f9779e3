import Synchronization

/// One request as the emulator saw it; never its credentials.
public struct RequestRecord: Sendable, Hashable, CustomStringConvertible {
  public var method: String
  /// The path without the query.
  public var path: String
  public var route: RouteID
  /// The status answered; `nil` when the connection was closed without an answer.
  public var status: Int?

  public var description: String { "\(method) \(path) -> \(status.map(String.init) ?? "closed")" }
}

/// Counters and the last requests (thread-safe).
final class RequestRecorder: Sendable {
  private struct State {
    var counts: [RouteID: Int] = [:]
    var total = 0
    var recent: [RequestRecord] = []
    var connections = 0
  }

  private let limit: Int
  private let state = Mutex(State())

  init(limit: Int) { self.limit = limit }

  func record(_ record: RequestRecord) {
    state.withLock { state in
      state.counts[record.route, default: 0] += 1
      state.total += 1
      state.recent.append(record)
      if state.recent.count > limit { state.recent.removeFirst(state.recent.count - limit) }
    }
  }

  func connectionAccepted() { state.withLock { $0.connections += 1 } }

  func count(of route: RouteID) -> Int { state.withLock { $0.counts[route, default: 0] } }
  var total: Int { state.withLock { $0.total } }
  var recent: [RequestRecord] { state.withLock { $0.recent } }
  var connections: Int { state.withLock { $0.connections } }

  func reset() { state.withLock { $0 = State() } }
}
