import AgentCubeCore
import AgentCubeKubernetes
import Foundation
import Synchronization
import Testing

@testable import AgentCubeKubernetesBackend

/// Per-caller API clients: one per account, the newest token wins, none past its token's exp, bounded.
@Suite struct CallerClientsTests {
  static func jwt(exp: Int64) -> String {
    let payload = Data("{\"exp\":\(exp)}".utf8).base64EncodedString()
      .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    return "eyJhbGciOiJSUzI1NiJ9.\(payload).c2ln"
  }

  func caller(_ namespace: String, _ name: String, token: String) throws -> Caller {
    Caller(identity: try Identity(username: "system:serviceaccount:\(namespace):\(name)"), token: BearerToken(token))
  }

  let http = CurlHTTPClient()
  var base: KubernetesAPI { KubernetesAPI(server: "https://127.0.0.1:1", tls: TLSCredentials(), token: { nil }, http: http) }

  @Test func theNewestTokenOfAnAccountReplacesTheOld() throws {
    defer { http.shutdown() }
    let clients = CallerClients(base: base, capacity: 10, clock: .system)
    #expect(try clients.api(for: caller("team-a", "alice", token: "first")).token() == "first")
    #expect(try clients.api(for: caller("team-a", "alice", token: "rotated")).token() == "rotated")
    #expect(clients.count == 1, "one entry per account")
  }

  @Test func anEntryEndsWithItsTokensExp() throws {
    defer { http.shutdown() }
    let now = Mutex<Int64>(1_800_000_000_000)
    let clients = CallerClients(base: base, capacity: 10, clock: WallClock { now.withLock { $0 } })
    let token = Self.jwt(exp: 1_800_000_060)
    let first = clients.api(for: try caller("team-a", "alice", token: token))
    #expect(try first.token() == token)
    now.withLock { $0 += 61_000 }
    // Past exp the entry is made again (the API server would refuse the token; the client is not reused).
    let again = clients.api(for: try caller("team-a", "alice", token: token))
    #expect(try again.token() == token && clients.count == 1)
  }

  @Test func theCacheIsBoundedLeastRecentlyUsedFirst() throws {
    defer { http.shutdown() }
    let clients = CallerClients(base: base, capacity: 3, clock: .system)
    for index in 0..<5 { _ = clients.api(for: try caller("team-\(index)", "agent", token: "t\(index)")) }
    #expect(clients.count == 3)
  }
}
