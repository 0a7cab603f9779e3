// Messages of agentcube.v1.Health (Protos/agentcube/v1/session_service.proto).

/// `Health/Check` request.
public struct HealthCheckRequest: Hashable, Sendable {
  /// Service to check; empty means the whole server.
  public var service: String
  public init(service: String = "") { self.service = service }
}

/// `Health/Check` response.
public struct HealthCheckResponse: Hashable, Sendable {
  /// Serving status.
  public enum ServingStatus: Int, Hashable, Sendable {
    case unknown = 0
    case serving = 1
    case notServing = 2
  }

  public var status: ServingStatus
  /// Server version.
  public var version: String
  /// Active backend, e.g. `local`.
  public var backend: String
  /// Whether sandboxes are isolated.
  public var isolated: Bool
  /// Why isolation is or is not available.
  public var isolationMessage: String

  public init(
    status: ServingStatus = .unknown, version: String = "", backend: String = "", isolated: Bool = false,
    isolationMessage: String = ""
  ) {
    self.status = status
    self.version = version
    self.backend = backend
    self.isolated = isolated
    self.isolationMessage = isolationMessage
  }
}
