import AgentCube
import AgentCubeProtobuf
import AgentCubeTransport
import NIOCore

/// Bytes of the protocol written by hand, for the faults: what a client that misbehaves sends.
enum RawFrames {
  /// The client preface and its SETTINGS frame.
  static func opening() -> ByteBuffer {
    var bytes = ByteBuffer()
    Preface.write(into: &bytes)
    // Encoding SETTINGS cannot fail: it holds no strings with NUL bytes.
    try? bytes.writeFrame(
      type: .settings, callID: 0, message: WireSettings(maxFrameSize: 4 << 20, protocolVersion: 1, agent: "soak-fault"))
    return bytes
  }

  /// A REQUEST frame for `method` with `message`, carrying the bearer token when one is given.
  static func request(
    _ method: MethodDescriptor, _ message: some ProtobufCodable, callID: UInt32, token: String?
  ) throws -> ByteBuffer {
    var metadata = Metadata()
    if let token { metadata.replace(Metadata.authorizationKey, with: "Bearer \(token)") }
    let wire = WireRequest(
      method: method.fullName, metadata: metadata, timeoutMicros: 30_000_000, message: try message.protobufBytes())
    var bytes = ByteBuffer()
    try bytes.writeFrame(type: .request, callID: callID, message: wire)
    return bytes
  }
}
