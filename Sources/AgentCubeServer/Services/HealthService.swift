public import AgentCubeCore
import Synchronization

/// `agentcube.v1.Health`: whether the server serves, which backend it runs and whether sandboxes
/// are isolated. The only call without authentication.
public final class HealthService: Sendable {
  private let backend: BackendDescriptor
  private let version: String
  private let serving = Atomic<Bool>(true)

  public init(backend: BackendDescriptor, version: String) {
    self.backend = backend
    self.version = version
  }

  /// Reports NOT_SERVING from now on (the server is draining).
  public func markNotServing() { serving.store(false, ordering: .relaxed) }

  /// Registers `Check` on `router`.
  public func register(on router: inout Router) {
    router.register(MethodDescriptor.Health.check) { [self] (request: HealthCheckRequest, _) in check(request) }
  }

  func check(_ request: HealthCheckRequest) -> HealthCheckResponse {
    HealthCheckResponse(
      status: serving.load(ordering: .relaxed) ? .serving : .notServing, version: version, backend: backend.name,
      isolated: backend.isolated, isolationMessage: backend.isolationMessage)
  }
}
