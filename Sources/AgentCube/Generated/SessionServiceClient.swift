// Client stubs for agentcube.v1.SessionService (Protos/agentcube/v1/session_service.proto).
// Written in the shape a code generator would produce: one typed async method per RPC.

/// Client of `agentcube.v1.SessionService`.
public struct SessionServiceClient: Sendable {
  let client: AgentCubeClient

  /// Creates a session and returns once its sandbox serves.
  public func createSession(_ request: CreateSessionRequest, options: CallOptions = .defaults) async throws -> CreateSessionResponse {
    try await client.unary(MethodDescriptor.SessionService.createSession, request, options: options)
  }

  /// Returns one of the caller's sessions.
  public func getSession(_ request: GetSessionRequest, options: CallOptions = .defaults) async throws -> GetSessionResponse {
    try await client.unary(MethodDescriptor.SessionService.getSession, request, options: options)
  }

  /// Returns a page of the caller's sessions.
  public func listSessions(_ request: ListSessionsRequest, options: CallOptions = .defaults) async throws -> ListSessionsResponse {
    try await client.unary(MethodDescriptor.SessionService.listSessions, request, options: options)
  }

  /// Sets a session's TTL anew, counted from now.
  public func renewSession(_ request: RenewSessionRequest, options: CallOptions = .defaults) async throws -> RenewSessionResponse {
    try await client.unary(MethodDescriptor.SessionService.renewSession, request, options: options)
  }

  /// Ends a session and its sandbox.
  public func deleteSession(_ request: DeleteSessionRequest, options: CallOptions = .defaults) async throws -> DeleteSessionResponse {
    try await client.unary(MethodDescriptor.SessionService.deleteSession, request, options: options)
  }
}
