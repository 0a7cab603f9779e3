import AgentCube
import AgentCubeCore
import AgentCubeServer
import AgentCubeTestSupport
import Foundation
import NIOCore
import Testing

/// What every backend must do alike, driven through the real server and SDK over a Unix socket:
/// the session lifecycle, paging, expiry and idle time by the backend's clock, activity, tunnels
/// and errors. Each test gets a fresh backend on a manual clock.
@Suite(.timeLimit(.minutes(10)))
struct BackendConformanceTests {
  static let backends: [BackendUnderTest] = [.memory, .local, .kubernetes]

  struct Fixture {
    let instance: BackendUnderTest.Instance
    let server: BackendServer
    let clock: ManualWallClock
    let alice: AgentCubeClient
    let bob: AgentCubeClient

    func create(ttl: UInt32 = 600, idle: UInt32 = 0, by client: AgentCubeClient? = nil) async throws -> Session {
      try await (client ?? alice).sessions.createSession(
        .init(image: instance.image, ttlSeconds: ttl, idleTimeoutSeconds: idle), options: .init(timeout: .seconds(60))
      ).session
    }

    func status(_ body: () async throws -> Void) async -> StatusCode? {
      do {
        try await body()
        return .ok
      } catch let error as RPCError {
        return error.code
      } catch {
        return nil
      }
    }

    /// The first bytes the session's SSH port sends through a tunnel.
    func greeting(_ id: String) async throws -> String {
      try await alice.sessions.withTunnel(sessionID: id) { tunnel in
        var received = ""
        for try await chunk in tunnel.inbound {
          received += String(buffer: chunk)
          if received.contains("\n") { break }
        }
        return received
      }
    }
  }

  static func with(_ backend: BackendUnderTest, _ body: (Fixture) async throws -> Void) async throws {
    let clock = ManualWallClock()
    let instance = try await backend.make(clock)
    var policy = SessionPolicy.defaults
    policy.defaultImage = instance.image
    let server: BackendServer
    do {
      server = try await BackendServer.start(backend: instance.backend, policy: policy)
    } catch {
      await instance.stop()
      throw error
    }
    let fixture = Fixture(
      instance: instance, server: server, clock: clock, alice: server.client(token: TestServer.Token.alice),
      bob: server.client(token: TestServer.Token.bob))
    var failure: (any Error)?
    do { try await body(fixture) } catch { failure = error }
    await fixture.alice.close()
    await fixture.bob.close()
    await server.stop()
    await instance.stop()
    if let failure { throw failure }
  }

  @Test(arguments: backends)
  func createGetListRenewDelete(backend: BackendUnderTest) async throws {
    try await Self.with(backend) { f in
      let created = try await f.alice.sessions.createSession(
        .init(
          image: f.instance.image, ttlSeconds: 600, metadata: [KeyValue(key: "purpose", value: "conformance")],
          sshUser: "agent"),
        options: .init(timeout: .seconds(60))
      ).session
      #expect(created.status == .running)
      #expect(created.creator == TestServer.Username.alice && created.namespace == "team-a")
      #expect(created.image == f.instance.image && created.sshUser == "agent" && created.sshPort > 0)
      #expect(created.createdAtMs == f.clock.now && created.expiresAtMs == f.clock.now + 600_000)
      #expect(created.metadata == [KeyValue(key: "purpose", value: "conformance")])

      let got = try await f.alice.sessions.getSession(.init(sessionID: created.id)).session
      #expect(got.id == created.id && got.status == .running && got.expiresAtMs == created.expiresAtMs)
      #expect(try await f.alice.sessions.listSessions(.init()).sessions.map(\.id) == [created.id])
      #expect(try await f.bob.sessions.listSessions(.init()).sessions.isEmpty, "only the creator's own")
      #expect(await f.status { _ = try await f.bob.sessions.getSession(.init(sessionID: created.id)) } == .permissionDenied)

      f.clock.advance(seconds: 100)
      let renewed = try await f.alice.sessions.renewSession(.init(sessionID: created.id, ttlSeconds: 1200)).session
      #expect(renewed.ttlSeconds == 1200 && renewed.expiresAtMs == f.clock.now + 1_200_000)
      #expect(try await f.alice.sessions.getSession(.init(sessionID: created.id)).session.expiresAtMs == renewed.expiresAtMs)

      #expect(await f.status { _ = try await f.bob.sessions.deleteSession(.init(sessionID: created.id)) } == .permissionDenied)
      _ = try await f.alice.sessions.deleteSession(.init(sessionID: created.id))
      #expect(await f.status { _ = try await f.alice.sessions.getSession(.init(sessionID: created.id)) } == .notFound)
      #expect(await f.status { _ = try await f.alice.sessions.deleteSession(.init(sessionID: created.id)) } == .notFound)
      #expect(try await f.alice.sessions.listSessions(.init()).sessions.isEmpty)
    }
  }

  @Test(arguments: backends)
  func pagesInCreationOrder(backend: BackendUnderTest) async throws {
    try await Self.with(backend) { f in
      var created: [String] = []
      for _ in 0..<5 {
        created.append(try await f.create().id)
        f.clock.advance(seconds: 1)
      }
      var seen: [String] = []
      var token = ""
      var pages = 0
      repeat {
        let page = try await f.alice.sessions.listSessions(.init(pageSize: 2, pageToken: token))
        seen += page.sessions.map(\.id)
        token = page.nextPageToken
        pages += 1
      } while !token.isEmpty && pages < 10
      #expect(pages == 3)
      #expect(seen == created, "oldest first, each once")
    }
  }

  @Test(arguments: backends)
  func expiryAndIdleTimeByTheBackendsClock(backend: BackendUnderTest) async throws {
    try await Self.with(backend) { f in
      let short = try await f.create(ttl: 60)
      let idle = try await f.create(ttl: 3600, idle: 60)
      f.clock.advance(seconds: 30)
      #expect(try await f.greeting(idle.id).hasPrefix("SSH-2.0-"), "a tunnel is activity")
      f.clock.advance(seconds: 31)
      // 61 s after creation: past the TTL; the idle one was active 31 s ago.
      #expect(await f.status { _ = try await f.alice.sessions.getSession(.init(sessionID: short.id)) } == .notFound)
      #expect(try await f.alice.sessions.getSession(.init(sessionID: idle.id)).session.status == .running)
      #expect(try await f.alice.sessions.listSessions(.init()).sessions.map(\.id) == [idle.id])
      f.clock.advance(seconds: 30)
      #expect(await f.status { _ = try await f.alice.sessions.getSession(.init(sessionID: idle.id)) } == .notFound)
      #expect(try await f.alice.sessions.listSessions(.init()).sessions.isEmpty)
      #expect(await f.status { _ = try await f.alice.sessions.renewSession(.init(sessionID: short.id, ttlSeconds: 600)) } == .notFound)
    }
  }

  @Test(arguments: backends)
  func tunnelsReachTheSessionsSSHPortForItsCreatorOnly(backend: BackendUnderTest) async throws {
    try await Self.with(backend) { f in
      let session = try await f.create()
      #expect(try await f.greeting(session.id).hasPrefix("SSH-2.0-"))
      let stranger = await f.status {
        try await f.bob.sessions.withTunnel(sessionID: session.id) { _ in }
      }
      #expect(stranger == .permissionDenied)
    }
  }

  @Test(arguments: backends)
  func unknownAndMalformedSessionsAreErrors(backend: BackendUnderTest) async throws {
    try await Self.with(backend) { f in
      let unknown = UUID().uuidString.lowercased()
      #expect(await f.status { _ = try await f.alice.sessions.getSession(.init(sessionID: unknown)) } == .notFound)
      #expect(await f.status { _ = try await f.alice.sessions.renewSession(.init(sessionID: unknown, ttlSeconds: 600)) } == .notFound)
      #expect(await f.status { _ = try await f.alice.sessions.deleteSession(.init(sessionID: unknown)) } == .notFound)
      #expect(await f.status { try await f.alice.sessions.withTunnel(sessionID: unknown) { _ in } } == .notFound)
      #expect(await f.status { _ = try await f.alice.sessions.getSession(.init(sessionID: "not-a-uuid")) } == .invalidArgument)
      #expect(await f.status { _ = try await f.alice.sessions.createSession(.init(image: f.instance.image, ttlSeconds: 10)) } == .invalidArgument)
    }
  }
}
