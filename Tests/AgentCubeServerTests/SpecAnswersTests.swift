import AgentCube
import AgentCubeServer
import AgentCubeTestSupport
import Foundation
import Testing

/// The answers `docs/protocol.md` gives to questions a client author asked: each one as the server
/// behaves.
@Suite struct SpecAnswersTests {
  /// A client sending `authorization` exactly as given (no token of its own).
  func list(_ server: TestServer, authorization values: [String]) async throws -> ListSessionsResponse {
    var options = CallOptions()
    for value in values { options.metadata.add("Authorization", value) }
    return try await server.client(token: nil).sessions.listSessions(.init(), options: options)
  }

  @Test("the Bearer scheme is case-insensitive; spaces around the token are ignored")
  func bearerSchemeAndSpaces() async throws {
    try await TestServer.with { server in
      let token = TestServer.Token.alice
      for value in ["Bearer \(token)", "bearer \(token)", "BEARER \(token)", "  Bearer   \(token)  ", "Bearer \(token)\t"] {
        _ = try await list(server, authorization: [value])
      }
      for value in ["Bearer\t\(token)", "Bearer\(token)", "Bearer \(token) extra", "Token \(token)", token] {
        let error = try await #require(throws: RPCError.self) { try await list(server, authorization: [value]) }
        #expect(error.code == .unauthenticated)
        #expect(error.message == "authorization metadata must be 'Bearer <token>'")
      }
    }
  }

  @Test("two authorization entries are UNAUTHENTICATED, even when both are valid")
  func duplicateAuthorization() async throws {
    try await TestServer.with { server in
      let value = "Bearer \(TestServer.Token.alice)"
      for values in [[value, value], [value, "Bearer \(TestServer.Token.bob)"]] {
        let error = try await #require(throws: RPCError.self) { try await list(server, authorization: values) }
        #expect(error.code == .unauthenticated)
        #expect(error.message == "more than one 'authorization' metadata entry")
      }
    }
  }

  @Test("an unknown method is UNIMPLEMENTED before any token is looked at")
  func unimplementedBeforeUnauthenticated() async throws {
    try await TestServer.with { server in
      let unknown = MethodDescriptor(service: "agentcube.v1.SessionService", method: "NoSuchMethod")
      for token in [nil, "not-a-token", TestServer.Token.alice] {
        let error = try await #require(throws: RPCError.self) {
          let _: HealthCheckResponse = try await server.client(token: token).unary(unknown, HealthCheckRequest())
        }
        #expect(error.code == .unimplemented, "token \(token == nil ? "none" : "given")")
      }
    }
  }

  @Test("RenewSession with ttl_seconds 0 renews for the default TTL from now")
  func renewWithZeroTTL() async throws {
    var policy = SessionPolicy.defaults
    policy.defaultImage = "echo"
    try await TestServer.with(policy: policy) { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let created = try await alice.createSession(.init(ttlSeconds: 60)).session
      let before = Int64(Date().timeIntervalSince1970 * 1000)
      let renewed = try await alice.renewSession(.init(sessionID: created.id, ttlSeconds: 0)).session
      let after = Int64(Date().timeIntervalSince1970 * 1000)
      #expect(renewed.ttlSeconds == policy.defaultTTLSeconds)
      let ttlMs = Int64(policy.defaultTTLSeconds) * 1000
      #expect((before + ttlMs...after + ttlMs).contains(renewed.expiresAtMs))
    }
  }

  @Test("a page token stays valid after the session it points past is deleted")
  func pageTokenAfterDeletion() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      for _ in 0..<3 { _ = try await alice.createSession(.init(image: "echo", ttlSeconds: 60)) }
      let all = try await alice.listSessions(.init(pageSize: 10)).sessions.map(\.id)
      #expect(all.count == 3)
      let first = try await alice.listSessions(.init(pageSize: 1))
      let pointedPast = try #require(first.sessions.first).id
      #expect(pointedPast == all.first)
      _ = try await alice.deleteSession(.init(sessionID: pointedPast))
      let rest = try await alice.listSessions(.init(pageSize: 10, pageToken: first.nextPageToken))
      #expect(rest.sessions.map(\.id) == Array(all.dropFirst()))
      #expect(rest.nextPageToken.isEmpty)
    }
  }
}
