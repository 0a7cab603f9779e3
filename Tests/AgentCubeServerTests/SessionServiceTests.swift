import AgentCube
import AgentCubeLocalBackend
import AgentCubeServer
import AgentCubeTestSupport
import Foundation
import Logging
import Testing

/// The session service end to end: SDK → real server → real local sandboxes.
@Suite struct SessionServiceTests {
  private let aliceKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@test"

  @Test("a caller at its session quota gets RESOURCE_EXHAUSTED, concurrent creates included; others are not affected")
  func sessionQuota() async throws {
    var policy = SessionPolicy.defaults
    policy.minTTLSeconds = 1
    policy.defaultImage = "echo"
    policy.maxSessionsPerIdentity = 2
    try await TestServer.with(policy: policy) { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      // Four at once against a quota of two: exactly two succeed.
      let outcomes = await withTaskGroup(of: StatusCode.self) { group in
        for _ in 0..<4 {
          group.addTask {
            do {
              _ = try await alice.createSession(.init(ttlSeconds: 120))
              return .ok
            } catch let error as RPCError {
              return error.code
            } catch {
              return .unknown
            }
          }
        }
        return await group.reduce(into: [StatusCode]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 == .ok }.count == 2, "\(outcomes)")
      #expect(outcomes.filter { $0 == .resourceExhausted }.count == 2, "\(outcomes)")
      let refused = await #expect(throws: RPCError.self) { try await alice.createSession(.init(ttlSeconds: 120)) }
      #expect(refused?.message.contains("session quota reached: 2 live sessions per caller") == true)
      // Another caller has a quota of its own.
      let bob = server.client(token: TestServer.Token.bob).sessions
      _ = try await bob.createSession(.init(ttlSeconds: 120))
      // A deleted session frees its place.
      let mine = try await alice.listSessions(.init()).sessions
      _ = try await alice.deleteSession(.init(sessionID: mine[0].id))
      _ = try await alice.createSession(.init(ttlSeconds: 120))
    }
  }

  @Test("CreateSession calls over a caller's rate are RESOURCE_EXHAUSTED with retry advice; time gives tokens back")
  func createRate() async throws {
    var policy = SessionPolicy.defaults
    policy.minTTLSeconds = 1
    policy.defaultImage = "echo"
    policy.createRatePerIdentity = 0.5  // a token every 2 s
    policy.createBurstPerIdentity = 2
    let time = ManualClock()
    let log = LogRecorder()
    try await TestServer.with(policy: policy, clock: time.clock, logger: log.logger()) { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      _ = try await alice.createSession(.init(ttlSeconds: 120))
      // A create refused for another reason takes a token too: every call counts.
      let invalid = await #expect(throws: RPCError.self) { try await alice.createSession(.init(ttlSeconds: 999_999)) }
      #expect(invalid?.code == .invalidArgument)
      let refused = await #expect(throws: RPCError.self) { try await alice.createSession(.init(ttlSeconds: 120)) }
      #expect(refused?.code == .resourceExhausted)
      #expect(refused?.message == "too many CreateSession calls: 0.5 per second per caller (bursts of 2); retry in 2000 ms")
      #expect(refused?.details == [ErrorDetail(type: "retry-after-ms", value: "2000")])
      // Another caller has a bucket of its own.
      _ = try await server.client(token: TestServer.Token.bob).sessions.createSession(.init(ttlSeconds: 120))
      time.advance(by: .milliseconds(1999))
      let early = await #expect(throws: RPCError.self) { try await alice.createSession(.init(ttlSeconds: 120)) }
      #expect(early?.details == [ErrorDetail(type: "retry-after-ms", value: "1")])
      time.advance(by: .milliseconds(1))
      _ = try await alice.createSession(.init(ttlSeconds: 120))

      // Each refusal is a warning naming the caller and the limit; no token is ever logged.
      let warnings = log.entries.filter { $0.level == .warning && $0.message == "call refused by a limit" }
      #expect(warnings.count == 2)
      #expect(warnings.first?.metadata["identity"] == "system:serviceaccount:team-a:alice")
      #expect(warnings.first?.metadata["limit"] == "create-rate")
      #expect(warnings.first?.metadata["retry_after_ms"] == "2000")
      let tokens = [TestServer.Token.alice, TestServer.Token.bob]
      #expect(!log.entries.contains { entry in tokens.contains { entry.text.contains($0) } })
    }
  }

  @Test func createGetRenewDelete() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let created = try await alice.createSession(
        .init(image: "echo", ttlSeconds: 120, sshPublicKey: aliceKey, metadata: [.init(key: "purpose", value: "ci")])
      ).session
      #expect(created.status == .running)
      #expect(UUID(uuidString: created.id) != nil)
      #expect(created.name == "sandbox-\(created.id.prefix(8))")
      #expect(created.namespace == "team-a")
      #expect(created.creator == "system:serviceaccount:team-a:alice")
      #expect(created.sshUser == "root", "the policy's default SSH user")
      #expect(created.metadata == [.init(key: "purpose", value: "ci")])
      #expect(created.expiresAtMs - created.createdAtMs == 120_000)
      #expect(created.address.isEmpty, "local sandboxes have no host address")

      #expect(try await alice.getSession(.init(sessionID: created.id)).session.id == created.id)

      let renewed = try await alice.renewSession(.init(sessionID: created.id, ttlSeconds: 600)).session
      #expect(renewed.ttlSeconds == 600)
      #expect(renewed.expiresAtMs > created.expiresAtMs)

      _ = try await alice.deleteSession(.init(sessionID: created.id))
      let error = await #expect(throws: RPCError.self) { try await alice.getSession(.init(sessionID: created.id)) }
      #expect(error?.code == .notFound)
      let again = await #expect(throws: RPCError.self) { try await alice.deleteSession(.init(sessionID: created.id)) }
      #expect(again?.code == .notFound)
    }
  }

  @Test func listPagesWithAnOpaqueCursor() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      var ids: [String] = []
      for _ in 0..<5 { ids.append(try await alice.createSession(.init(image: "echo", ttlSeconds: 120)).session.id) }
      var seen: [String] = []
      var token = ""
      var pages = 0
      repeat {
        let page = try await alice.listSessions(.init(pageSize: 2, pageToken: token))
        #expect(page.sessions.count <= 2)
        seen += page.sessions.map(\.id)
        token = page.nextPageToken
        pages += 1
      } while !token.isEmpty && pages < 10
      #expect(pages == 3)
      #expect(Set(seen) == Set(ids))
      #expect(seen.count == 5)
      #expect(try await alice.listSessions(.init()).sessions.count == 5)
    }
  }

  @Test(arguments: [
    CreateSessionRequest(image: "echo", ttlSeconds: 999_999),
    CreateSessionRequest(image: "echo", sshPublicKey: "ssh-ed25519 not-base64!"),
    CreateSessionRequest(image: "echo", sshPublicKey: "ssh-dss AAAAB3NzaC1kc3MAAACBAP"),
    CreateSessionRequest(image: "no-such-image"),
    CreateSessionRequest(image: "echo", sshUser: "root:x:0:0"),
    CreateSessionRequest(image: "echo", sshUser: "-oProxyCommand"),
    CreateSessionRequest(image: "echo", sshUser: String(repeating: "a", count: 33)),
    CreateSessionRequest(image: "echo", metadata: Array(repeating: .init(key: "k", value: "v"), count: 65)),
  ])
  func invalidCreateRequestsAreRefused(request: CreateSessionRequest) async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let error = await #expect(throws: RPCError.self) { try await alice.createSession(request) }
      #expect(error?.code == .invalidArgument)
      let listed = try await alice.listSessions(.init()).sessions
      #expect(listed.isEmpty)
    }
  }

  @Test func invalidArgumentsOfOtherCallsAreRefused() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let owned = try await alice.createSession(.init(image: "echo", ttlSeconds: 120)).session
      let cases: [@Sendable () async throws -> Void] = [
        { _ = try await alice.listSessions(.init(pageSize: 101)) },
        { _ = try await alice.listSessions(.init(pageToken: "not a token")) },
        { _ = try await alice.getSession(.init(sessionID: "../../etc/passwd")) },
        { _ = try await alice.renewSession(.init(sessionID: owned.id, ttlSeconds: 0xFFFF_FFFF)) },
      ]
      for call in cases {
        let error = await #expect(throws: RPCError.self) { try await call() }
        #expect(error?.code == .invalidArgument)
      }
      let missing = await #expect(throws: RPCError.self) { try await alice.getSession(.init(sessionID: UUID().uuidString)) }
      #expect(missing?.code == .notFound)
    }
  }

  @Test func ttlAndIdleTimeoutsAreReaped() async throws {
    try await TestServer.with { server in
      try await server.withReaper {
        let alice = server.client(token: TestServer.Token.alice).sessions
        let short = try await alice.createSession(.init(image: "echo", ttlSeconds: 1)).session
        let idle = try await alice.createSession(.init(image: "echo", ttlSeconds: 600, idleTimeoutSeconds: 1)).session
        let kept = try await alice.createSession(.init(image: "echo", ttlSeconds: 600, idleTimeoutSeconds: 0)).session
        for id in [short.id, idle.id] {
          try await eventually("session \(id) reaped") {
            do {
              _ = try await alice.getSession(.init(sessionID: id))
              return false
            } catch let error as RPCError {
              return error.code == .notFound
            }
          }
        }
        #expect(try await alice.getSession(.init(sessionID: kept.id)).session.status == .running)
      }
    }
  }

  @Test func aRestartedServerKeepsItsSessions() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let first = try await TestServer.start(directory: directory)
    let created = try await first.client(token: TestServer.Token.alice).sessions
      .createSession(.init(image: "echo", ttlSeconds: 300)).session
    await first.stop(deleteSessions: false)

    let second = try await TestServer.start(directory: directory)
    let alice = second.client(token: TestServer.Token.alice).sessions
    let adopted = try await alice.getSession(.init(sessionID: created.id)).session
    #expect(adopted.status == .running)
    #expect(adopted.address == created.address)
    #expect(adopted.expiresAtMs == created.expiresAtMs)
    #expect(try await alice.listSessions(.init()).sessions.map(\.id) == [created.id])
    await second.stop()
  }
}
