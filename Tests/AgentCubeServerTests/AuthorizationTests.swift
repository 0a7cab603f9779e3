import AgentCube
import AgentCubeTestSupport
import Testing

/// Every RPC × every way a caller can be refused.
@Suite struct AuthorizationTests {
  enum RPC: String, CaseIterable, Sendable {
    case create, get, list, renew, delete, openTunnel

    /// Calls the RPC on `sessionID` (ignored by create and list).
    func call(_ client: AgentCubeClient, sessionID: String, options: CallOptions = .defaults) async throws {
      let sessions = client.sessions
      switch self {
      case .create: _ = try await sessions.createSession(.init(image: "echo", ttlSeconds: 60), options: options)
      case .get: _ = try await sessions.getSession(.init(sessionID: sessionID), options: options)
      case .list: _ = try await sessions.listSessions(.init(), options: options)
      case .renew: _ = try await sessions.renewSession(.init(sessionID: sessionID, ttlSeconds: 120), options: options)
      case .delete: _ = try await sessions.deleteSession(.init(sessionID: sessionID), options: options)
      case .openTunnel: try await sessions.withTunnel(sessionID: sessionID, options: options) { _ in }
      }
    }
  }

  enum Refusal: String, CaseIterable, Sendable {
    case noToken, malformedHeader, bearerWithoutToken, unknownToken, notAServiceAccount
  }

  @Test(arguments: RPC.allCases, Refusal.allCases)
  func unauthenticatedCallersAreRefused(rpc: RPC, refusal: Refusal) async throws {
    try await TestServer.with { server in
      let owned = try await server.client(token: TestServer.Token.alice).sessions
        .createSession(.init(image: "echo", ttlSeconds: 60)).session
      let client: AgentCubeClient
      var options = CallOptions()
      switch refusal {
      case .noToken: client = server.client(token: nil)
      case .malformedHeader:
        client = server.client(token: nil)
        options.metadata.add("authorization", "Basic YWxpY2U6c2VjcmV0")
      case .bearerWithoutToken:
        client = server.client(token: nil)
        options.metadata.add("authorization", "Bearer ")
      case .unknownToken: client = server.client(token: "no-such-token")
      case .notAServiceAccount: client = server.client(token: TestServer.Token.jane)
      }
      let error = await #expect(throws: RPCError.self) { try await rpc.call(client, sessionID: owned.id, options: options) }
      #expect(error?.code == .unauthenticated)
      #expect(error?.message.contains("alice-token") == false)
      // The refused call changed nothing.
      let after = try await server.client(token: TestServer.Token.alice).sessions.getSession(.init(sessionID: owned.id))
      #expect(after.session == owned || after.session.expiresAtMs == owned.expiresAtMs)
    }
  }

  @Test(arguments: [RPC.get, .renew, .delete, .openTunnel])
  func anotherCallersSessionIsPermissionDenied(rpc: RPC) async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice)
      let owned = try await alice.sessions.createSession(.init(image: "echo", ttlSeconds: 60)).session
      let bob = server.client(token: TestServer.Token.bob)
      let error = await #expect(throws: RPCError.self) { try await rpc.call(bob, sessionID: owned.id) }
      #expect(error?.code == .permissionDenied)
      // Still there, unchanged, for its creator.
      let after = try await alice.sessions.getSession(.init(sessionID: owned.id)).session
      #expect(after.status == .running)
      #expect(after.expiresAtMs == owned.expiresAtMs)
    }
  }

  @Test func listShowsOnlyTheCallersOwnSessions() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice)
      let bob = server.client(token: TestServer.Token.bob)
      let aliceSession = try await alice.sessions.createSession(.init(image: "echo", ttlSeconds: 60)).session
      let bobSession = try await bob.sessions.createSession(.init(image: "echo", ttlSeconds: 60)).session
      #expect(try await alice.sessions.listSessions(.init()).sessions.map(\.id) == [aliceSession.id])
      #expect(try await bob.sessions.listSessions(.init()).sessions.map(\.id) == [bobSession.id])
      #expect(bobSession.namespace == "team-b")
      #expect(bobSession.creator == "system:serviceaccount:team-b:bob")
    }
  }

  @Test func healthNeedsNoToken() async throws {
    try await TestServer.with { server in
      let health = try await server.client(token: nil).health.check()
      #expect(health.status == .serving)
      #expect(health.backend == "local")
    }
  }
}
