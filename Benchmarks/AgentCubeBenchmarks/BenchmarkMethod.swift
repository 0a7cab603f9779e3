import AgentCube
import ArgumentParser

/// A unary call the benchmark can measure.
enum BenchmarkMethod: String, CaseIterable, ExpressibleByArgument, Sendable {
  /// `Health/Check`: no token, no backend call; the transport, router and logging interceptor.
  case health
  /// `SessionService/ListSessions` for a caller with no sessions: the whole chain (logging,
  /// token-file authentication, handler, the local backend's actor) on its success path.
  case listSessions = "list-sessions"
  /// `SessionService/GetSession` of an unknown UUID: the whole chain ending in `NOT_FOUND` (the
  /// error path: a thrown `RPCError` turned into a status, logged at `info`, so not printed here).
  case getMissing = "get-missing"

  /// The method's full name, for the report.
  var fullName: String {
    switch self {
    case .health: MethodDescriptor.Health.check.fullName
    case .listSessions: MethodDescriptor.SessionService.listSessions.fullName
    case .getMissing: MethodDescriptor.SessionService.getSession.fullName
    }
  }

  /// Whether the call carries the bearer token (every method but Health needs it).
  var needsToken: Bool { self != .health }

  /// A session id that no backend holds.
  private static let unknownSessionID = "00000000-0000-4000-8000-000000000000"

  /// Makes one call and checks its answer; throws ``UnexpectedAnswer`` for anything but the
  /// expected outcome, and the SDK's error when the call itself fails.
  func call(_ client: AgentCubeClient) async throws {
    switch self {
    case .health:
      let response = try await client.health.check()
      guard response.status == .serving else { throw UnexpectedAnswer("Health/Check answered \(response.status)") }
    case .listSessions:
      let response = try await client.sessions.listSessions(ListSessionsRequest())
      guard response.sessions.isEmpty else { throw UnexpectedAnswer("ListSessions returned sessions") }
    case .getMissing:
      do {
        _ = try await client.sessions.getSession(GetSessionRequest(sessionID: Self.unknownSessionID))
        throw UnexpectedAnswer("GetSession of an unknown id succeeded")
      } catch let error as RPCError where error.code == .notFound {
        return
      }
    }
  }
}

/// A call ended otherwise than the benchmark expects; the run stops.
struct UnexpectedAnswer: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
