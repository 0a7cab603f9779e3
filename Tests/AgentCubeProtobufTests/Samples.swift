import AgentCubeCore
import AgentCubeProtobuf
import Testing

/// A message value to run a test on, named for the test's output.
struct Sample: Sendable, CustomTestStringConvertible {
  let name: String
  let value: any ProtobufCodable & Hashable

  init<T: ProtobufCodable & Hashable>(_ value: T, _ label: String = "") {
    self.name = "\(T.self)" + (label.isEmpty ? "" : " (\(label))")
    self.value = value
  }

  var testDescription: String { name }

  /// Decodes `bytes` as the sample's type.
  func decode(_ bytes: [UInt8]) throws -> any ProtobufCodable & Hashable {
    try Self.decode(bytes, as: value)
  }

  /// Whether `other` equals the sample's value.
  func isEqual(to other: any ProtobufCodable & Hashable) -> Bool {
    AnyHashable(value) == AnyHashable(other)
  }

  private static func decode<T: ProtobufCodable & Hashable>(_ bytes: [UInt8], as _: T) throws -> any ProtobufCodable
    & Hashable
  {
    try T(protobuf: bytes)
  }
}

enum Samples {
  /// Every message type with its default value.
  static let empty: [Sample] = [
    Sample(WireSettings()), Sample(WireRequest()), Sample(WireResponse()), Sample(WireGoAway()),
    Sample(Session()),
    Sample(CreateSessionRequest()), Sample(CreateSessionResponse()),
    Sample(GetSessionRequest()), Sample(GetSessionResponse()),
    Sample(DeleteSessionRequest()), Sample(DeleteSessionResponse()),
    Sample(ListSessionsRequest()), Sample(ListSessionsResponse()),
    Sample(RenewSessionRequest()), Sample(RenewSessionResponse()),
    Sample(OpenTunnelRequest()), Sample(OpenTunnelResponse()),
    Sample(HealthCheckRequest()), Sample(HealthCheckResponse()),
  ]

  /// Non-ASCII UTF-8 of 1 to 4 bytes per character, and a line break.
  static let unicode = "grüße, 世界 🧊 café\n"

  /// A string of `length` characters mixing ASCII and non-ASCII.
  static func long(_ length: Int, _ seed: String = "") -> String {
    String((seed + "ab€🧊z").cycled(to: length))
  }

  static let pairs = (0..<200).map { KeyValue(key: "key-\($0)-\(unicode)", value: long(40 + $0, "\($0)")) }

  static let metadata: Metadata = {
    var metadata = Metadata()
    metadata.add("authorization", "Bearer " + String(repeating: "x", count: 1500))
    for i in 0..<150 { metadata.add("x-entry-\(i)", long(i, "v")) }
    metadata.add("x-entry-1", "a key may repeat")
    metadata.add("x-empty", "")
    return metadata
  }()

  static func session(_ i: Int = 0) -> Session {
    Session(
      id: "6f1c2a3b-0000-4000-8000-\(String(repeating: "a", count: 11))\(i % 10)",
      name: "sandbox-6f1c2a3b", namespace: "team-ü", creator: "system:serviceaccount:team:robot-\(i)",
      image: "python:3.12 \(unicode)", status: .failed, statusMessage: long(5000, "stderr: "),
      createdAtMs: .min, expiresAtMs: .max, lastActivityAtMs: -1, ttlSeconds: .max, idleTimeoutSeconds: .max,
      metadata: pairs, sshUser: "sandbox", sshPort: .max, address: "[fd00::1]",
      sshHostPublicKey: "ssh-ed25519 " + long(68, "AAAAC3NzaC1lZDI1NTE5") + " root@sandbox-\(unicode)"
    )
  }

  /// Every message type with every field set: long strings, many repeated entries, extreme numbers.
  static let maximal: [Sample] = [
    Sample(
      WireSettings(maxFrameSize: .max, maxConcurrentCalls: .max, protocolVersion: .max, agent: long(10_000, unicode))),
    Sample(
      WireRequest(
        method: "/agentcube.v1.SessionService/CreateSession", metadata: metadata, timeoutMicros: .max,
        message: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })),
    Sample(
      WireResponse(
        code: StatusCode(rawValue: .max), statusMessage: long(3000, unicode),
        details: (0..<50).map { ErrorDetail(type: "type-\($0)", value: long($0)) },
        message: Array(repeating: 0, count: 70_000), trailers: metadata)),
    Sample(WireGoAway(lastCallID: .max, code: .unauthenticated, message: unicode)),
    Sample(session()),
    Sample(
      CreateSessionRequest(
        image: unicode, ttlSeconds: .max, sshPublicKey: "ssh-ed25519 " + long(68) + " me@host", metadata: pairs,
        idleTimeoutSeconds: .max, sshUser: long(32))),
    Sample(CreateSessionResponse(session: session())),
    Sample(GetSessionRequest(sessionID: long(36))),
    Sample(GetSessionResponse(session: session())),
    Sample(DeleteSessionRequest(sessionID: unicode)),
    Sample(ListSessionsRequest(pageSize: .max, pageToken: long(500))),
    Sample(ListSessionsResponse(sessions: (0..<100).map(session), nextPageToken: unicode)),
    Sample(RenewSessionRequest(sessionID: unicode, ttlSeconds: .max)),
    Sample(RenewSessionResponse(session: session())),
    Sample(OpenTunnelRequest(sessionID: unicode, port: .max)),
    Sample(OpenTunnelResponse(target: "[fd00::1]:22")),
    Sample(HealthCheckRequest(service: unicode)),
    Sample(
      HealthCheckResponse(
        status: .notServing, version: "0.1.0", backend: "local", isolated: true, isolationMessage: long(300))),
  ]

  /// Values that exercise one field's range: every enum case, an OK response with a message.
  static let variants: [Sample] =
    [Sample(WireResponse(code: .ok, message: [0x0A, 0x00]), "OK with a message")]
    + SessionStatus.allCases.map { Sample(Session(id: "s", status: $0), "\($0)") }
    + [HealthCheckResponse.ServingStatus.unknown, .serving, .notServing].map {
      Sample(HealthCheckResponse(status: $0, version: "1"), "\($0)")
    }
}

extension String {
  fileprivate func cycled(to length: Int) -> [Character] {
    let characters = Array(self)
    return (0..<length).map { characters[$0 % characters.count] }
  }
}
