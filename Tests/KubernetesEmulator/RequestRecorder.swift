import Synchronization

/// One request as the emulator saw it; never its credentials.
public struct RequestRecord: Sendable, Hashable, CustomStringConvertible {
  public var method: String
  /// The path without the query.
  public var path: String
  public var route: RouteID
  /// The status answered; `nil` when the connection was closed without an answer.
  public var status: Int?
  /// The authenticated caller's username (never the token); `nil` when it was not authenticated
  /// (or a fault answered first).
  public var user: String?
  /// What the request asked to do, as the authorizer saw it (`verb` `watch` for a watch); `nil`
  /// when it was not authenticated or no route's access applies.
  public var attributes: ResourceAttributes?

  public init(
    method: String, path: String, route: RouteID, status: Int?, user: String? = nil,
    attributes: ResourceAttributes? = nil
  ) {
    self.method = method
    self.path = path
    self.route = route
    self.status = status
    self.user = user
    self.attributes = attributes
  }

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
