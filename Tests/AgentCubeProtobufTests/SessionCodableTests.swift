import AgentCubeCore
import Foundation
import Testing

/// `Session` as JSON: the local backend stores its records that way, so older records must still load.
@Suite("Session as JSON")
struct SessionCodableTests {
  @Test("A record written before ssh_host_public_key existed decodes with the key empty")
  func olderRecord() throws {
    let json = """
      {"id":"s","name":"sandbox-s","namespace":"team","creator":"c","image":"default","status":2,
       "statusMessage":"","createdAtMs":1,"expiresAtMs":2,"lastActivityAtMs":3,"ttlSeconds":60,
       "idleTimeoutSeconds":0,"metadata":[{"key":"k","value":"v"}],"sshUser":"root","sshPort":22,
       "address":"127.0.0.1"}
      """
    let session = try JSONDecoder().decode(Session.self, from: Data(json.utf8))
    #expect(
      session
        == Session(
          id: "s", name: "sandbox-s", namespace: "team", creator: "c", image: "default", status: .running,
          createdAtMs: 1, expiresAtMs: 2, lastActivityAtMs: 3, ttlSeconds: 60,
          metadata: [KeyValue(key: "k", value: "v")], sshUser: "root", sshPort: 22, address: "127.0.0.1"))
  }

  @Test("Every field survives a JSON round trip, the host key included")
  func roundTrip() throws {
    let session = Samples.session(3)
    let data = try JSONEncoder().encode(session)
    #expect(try JSONDecoder().decode(Session.self, from: data) == session)
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(object["sshHostPublicKey"] as? String == session.sshHostPublicKey)
  }

  @Test("A missing field other than the host key is still an error")
  func missingField() {
    #expect(throws: DecodingError.self) {
      try JSONDecoder().decode(Session.self, from: Data(#"{"id":"s"}"#.utf8))
    }
  }
}
