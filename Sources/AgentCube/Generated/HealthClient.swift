// Client stubs for agentcube.v1.Health (Protos/agentcube/v1/session_service.proto).

/// Client of `agentcube.v1.Health`; needs no token.
public struct HealthClient: Sendable {
  let client: AgentCubeClient

  /// Asks whether the server serves.
  public func check(_ request: HealthCheckRequest = HealthCheckRequest(), options: CallOptions = .defaults) async throws -> HealthCheckResponse {
    try await client.unary(MethodDescriptor.Health.check, request, options: options)
  }
}
