import AgentCube

/// A unary call of the soak's mix, made by the well-behaved clients.
enum SoakCall: String, CaseIterable, Sendable {
  case health = "Health"
  case getSession = "GetSession"
  case listSessions = "ListSessions"
  case renewSession = "RenewSession"
  /// GetSession of an id no one holds: `NOT_FOUND` is its expected answer (the error path).
  case getMissing = "GetSession(missing)"

  /// Relative share of the mix: mostly reads, some renewals and misses.
  var weight: Int {
    switch self {
    case .health: 25
    case .getSession: 30
    case .listSessions: 15
    case .renewSession: 15
    case .getMissing: 15
    }
  }

  /// A call drawn by weight.
  static func pick(using generator: inout some RandomNumberGenerator) -> SoakCall {
    var ticket = Int.random(in: 0..<totalWeight, using: &generator)
    for call in allCases {
      if ticket < call.weight { return call }
      ticket -= call.weight
    }
    return .health
  }

  private static let totalWeight = allCases.map(\.weight).reduce(0, +)

  private static let missingID = "00000000-0000-4000-8000-00000000dead"

  /// Whether `code` is the answer this call should get.
  func expects(_ code: StatusCode) -> Bool { code == (self == .getMissing ? .notFound : .ok) }

  /// Makes the call against `session` (one of the pool's); returns the status code it ended with
  /// and, for an answer that is wrong although OK, why.
  func run(_ client: AgentCubeClient, session: String, poolSize: Int) async -> (StatusCode, String) {
    do {
      switch self {
      case .health:
        let answer = try await client.health.check()
        return answer.status == .serving ? (.ok, "") : (.unknown, "health answered \(answer.status)")
      case .getSession:
        let answer = try await client.sessions.getSession(GetSessionRequest(sessionID: session))
        return answer.session.id == session ? (.ok, "") : (.unknown, "GetSession answered another session")
      case .listSessions:
        let answer = try await client.sessions.listSessions(ListSessionsRequest(pageSize: 100))
        // The churn's sessions come and go; the pool's are always there.
        return answer.sessions.count >= poolSize ? (.ok, "") : (.unknown, "ListSessions missed pool sessions")
      case .renewSession:
        let answer = try await client.sessions.renewSession(RenewSessionRequest(sessionID: session, ttlSeconds: 3600))
        return answer.session.status == .running ? (.ok, "") : (.unknown, "renewed session not running")
      case .getMissing:
        _ = try await client.sessions.getSession(GetSessionRequest(sessionID: Self.missingID))
        return (.ok, "GetSession of an unknown id succeeded")
      }
    } catch let error as RPCError {
      return (error.code, error.message)
    } catch {
      return (.unknown, "\(error)")
    }
  }
}
