public import AgentCubeCore
import AgentCubeProtobuf

/// Typical values of the protocol's messages, the seeds every target starts from.
public enum MessageSamples {
  /// A session id as the server makes them.
  public static let sessionID = "6f1c2a3b-9d4e-4f5a-8b6c-7d8e9f0a1b2c"

  /// A client's SETTINGS.
  public static let settings = WireSettings(
    maxFrameSize: 4 * 1024 * 1024, maxConcurrentCalls: 100, protocolVersion: 1, agent: "agentcube-swift/0.1")

  /// A CreateSession call with metadata, a deadline and a request message.
  public static var request: WireRequest {
    var metadata = Metadata()
    metadata.add("authorization", "Bearer not-a-real-token")
    metadata.add("x-request-id", "42")
    return WireRequest(
      method: "/agentcube.v1.SessionService/CreateSession", metadata: metadata, timeoutMicros: 30_000_000,
      message: (try? createRequest.protobufBytes()) ?? [])
  }

  /// An OK response carrying a message and a trailer.
  public static var response: WireResponse {
    WireResponse(
      code: .ok, message: (try? GetSessionResponse(session: session).protobufBytes()) ?? [],
      trailers: ["x-served-by": "agentcubed"])
  }

  /// An error response with details.
  public static let errorResponse = WireResponse(
    code: .resourceExhausted, statusMessage: "too many calls in flight",
    details: [ErrorDetail(type: "retry-after-ms", value: "100")])

  /// A GOAWAY for a protocol violation.
  public static let goAway = WireGoAway(lastCallID: 7, code: .invalidArgument, message: "malformed SETTINGS payload")

  /// A CreateSession request with every field set.
  public static let createRequest = CreateSessionRequest(
    image: "python:3.12", ttlSeconds: 3600, sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA me@host",
    metadata: [KeyValue(key: "team", value: "grüße 🧊")], idleTimeoutSeconds: 600)

  /// A running session with every field set.
  public static let session = Session(
    id: sessionID, name: "sandbox-6f1c2a3b", namespace: "team", creator: "system:serviceaccount:team:robot",
    image: "python:3.12", status: .running, statusMessage: "ready", createdAtMs: 1_700_000_000_000,
    expiresAtMs: 1_700_003_600_000, lastActivityAtMs: 1_700_000_100_000, ttlSeconds: 3600, idleTimeoutSeconds: 600,
    metadata: [KeyValue(key: "k", value: "v")], sshUser: "sandbox", sshPort: 22, address: "127.0.0.1",
    sshHostPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA root@sandbox")
}
