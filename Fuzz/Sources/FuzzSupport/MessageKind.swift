import AgentCubeCore
public import AgentCubeProtobuf

/// One protobuf message type the server or the client decodes, with its round-trip check.
public struct MessageKind: Sendable {
  /// The Swift type's name, for seed file names.
  public let name: String
  /// Sample values, encoded: the seeds.
  public let samples: [[UInt8]]
  private let roundTrip: @Sendable (UnsafeRawBufferPointer) -> Void

  /// A kind for `T` with samples to seed from.
  public init<T: ProtobufCodable & Hashable>(_: T.Type, samples: [T]) {
    name = "\(T.self)"
    // Encoding a sample without a NUL byte cannot fail.
    self.samples = samples.map { try! $0.protobufBytes() }
    roundTrip = { ProtobufRoundTrip.check(T.self, $0) }
  }

  /// Decodes `bytes` as this kind and checks the result (``ProtobufRoundTrip/check(_:_:)``).
  public func check(_ bytes: UnsafeRawBufferPointer) { roundTrip(bytes) }
}

extension MessageKind {
  /// Every message type of `agentcube.v1.wire`, `agentcube.v1.SessionService` and `agentcube.v1.Health`.
  ///
  /// The fuzz-messages target picks one by the first input byte, so the order is part of the
  /// committed corpus: append new kinds at the end.
  public static let all: [MessageKind] = [
    MessageKind(WireSettings.self, samples: [WireSettings(), MessageSamples.settings]),
    MessageKind(WireRequest.self, samples: [WireRequest(), MessageSamples.request]),
    MessageKind(WireResponse.self, samples: [WireResponse(), MessageSamples.response, MessageSamples.errorResponse]),
    MessageKind(WireGoAway.self, samples: [WireGoAway(), MessageSamples.goAway]),
    MessageKind(Session.self, samples: [Session(), MessageSamples.session]),
    MessageKind(CreateSessionRequest.self, samples: [CreateSessionRequest(), MessageSamples.createRequest]),
    MessageKind(CreateSessionResponse.self, samples: [CreateSessionResponse(session: MessageSamples.session)]),
    MessageKind(GetSessionRequest.self, samples: [GetSessionRequest(sessionID: MessageSamples.sessionID)]),
    MessageKind(GetSessionResponse.self, samples: [GetSessionResponse(session: MessageSamples.session)]),
    MessageKind(DeleteSessionRequest.self, samples: [DeleteSessionRequest(sessionID: MessageSamples.sessionID)]),
    MessageKind(DeleteSessionResponse.self, samples: [DeleteSessionResponse()]),
    MessageKind(ListSessionsRequest.self, samples: [ListSessionsRequest(pageSize: 50, pageToken: "next-page")]),
    MessageKind(
      ListSessionsResponse.self,
      samples: [ListSessionsResponse(sessions: [MessageSamples.session, Session(id: "b")], nextPageToken: "t")]),
    MessageKind(
      RenewSessionRequest.self, samples: [RenewSessionRequest(sessionID: MessageSamples.sessionID, ttlSeconds: 600)]),
    MessageKind(RenewSessionResponse.self, samples: [RenewSessionResponse(session: MessageSamples.session)]),
    MessageKind(OpenTunnelRequest.self, samples: [OpenTunnelRequest(sessionID: MessageSamples.sessionID, port: 22)]),
    MessageKind(OpenTunnelResponse.self, samples: [OpenTunnelResponse(target: "[fd00::1]:22")]),
    MessageKind(HealthCheckRequest.self, samples: [HealthCheckRequest(), HealthCheckRequest(service: "agentcube")]),
    MessageKind(
      HealthCheckResponse.self,
      samples: [
        HealthCheckResponse(
          status: .serving, version: "0.1.0", backend: "local", isolated: true, isolationMessage: "bubblewrap")
      ]),
  ]
}
