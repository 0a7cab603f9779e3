import AgentCube

/// Real sandboxes created and deleted during the run, at a low rate: each worker creates a
/// session, reads it back, deletes it, pauses, and starts again until the deadline.
struct SessionChurn {
  var workers: Int
  var client: AgentCubeClient
  var image: String
  var pause: Duration

  func run(until deadline: ContinuousClock.Instant) async -> SoakTally {
    await withTaskGroup(of: SoakTally.self) { group in
      for _ in 0..<workers {
        group.addTask { await cycle(until: deadline) }
      }
      var total = SoakTally()
      for await tally in group { total.merge(tally) }
      return total
    }
  }

  private func cycle(until deadline: ContinuousClock.Instant) async -> SoakTally {
    var tally = SoakTally()
    while ContinuousClock.now < deadline {
      var start = ContinuousClock.now
      do {
        let session = try await client.sessions.createSession(CreateSessionRequest(image: image, ttlSeconds: 600))
          .session
        tally.record("CreateSession", latency: ContinuousClock.now - start, code: .ok, expected: true)
        start = .now
        let code = await Self.code {
          let read = try await client.sessions.getSession(GetSessionRequest(sessionID: session.id)).session
          guard read.status == .running else { throw UnexpectedAnswer("new session is \(read.status)") }
        }
        tally.record("GetSession(new)", latency: ContinuousClock.now - start, code: code, expected: code == .ok)
        start = .now
        let deleted = await Self.code {
          _ = try await client.sessions.deleteSession(DeleteSessionRequest(sessionID: session.id))
        }
        tally.record("DeleteSession", latency: ContinuousClock.now - start, code: deleted, expected: deleted == .ok)
      } catch let error as RPCError {
        tally.record(
          "CreateSession", latency: ContinuousClock.now - start, code: error.code, expected: false,
          detail: error.message)
      } catch {
        tally.record(
          "CreateSession", latency: ContinuousClock.now - start, code: .unknown, expected: false, detail: "\(error)")
      }
      if pause > .zero { try? await Task.sleep(for: pause) }
    }
    return tally
  }

  /// The status code `body` ended with (`UNKNOWN` for an answer it found wrong).
  private static func code(_ body: () async throws -> Void) async -> StatusCode {
    do {
      try await body()
      return .ok
    } catch let error as RPCError {
      return error.code
    } catch {
      return .unknown
    }
  }
}
