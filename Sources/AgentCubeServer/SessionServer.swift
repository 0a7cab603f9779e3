public import AgentCubeCore
public import AgentCubeTransport
public import Logging
public import NIOCore
import NIOPosix
public import ServiceLifecycle

/// The AgentCube server: the session and health services behind the interceptor chain, served
/// over the AgentCube protocol on a Unix socket and/or TCP.
///
/// Run it as a `Service` in a `ServiceGroup` (graceful shutdown drains calls), or call
/// ``start()`` and ``shutdown()`` directly.
public final class SessionServer: Service, Sendable {
  /// Everything the server needs besides its backend and authenticator.
  public struct Configuration: Sendable {
    /// Listeners and per-connection limits.
    public var transport: ServerTransport.Configuration
    /// Session bounds and defaults.
    public var policy: SessionPolicy
    /// Version reported by Health.
    public var version: String
    /// The clock of the per-caller rate limits. Default ``MonotonicClock/continuous``.
    public var clock = MonotonicClock.continuous

    public init(transport: ServerTransport.Configuration, policy: SessionPolicy = .defaults, version: String = "0.1.0") {
      self.transport = transport
      self.policy = policy
      self.version = version
    }
  }

  private let transport: ServerTransport
  private let tcpSecurity: String
  private let health: HealthService
  private let logger: Logger

  /// Builds the router and interceptor chain: request logging (outermost), then authentication for
  /// every method but Health, then the handlers; errors become statuses in ``Router``.
  public init(
    configuration: Configuration, backend: any SessionBackend, authenticator: any Authenticator,
    extraInterceptors: [InterceptorRule] = [], logger: Logger,
    group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  ) {
    let rules: [InterceptorRule] =
      [
        .all(LoggingInterceptor(logger: logger)),
        .allExcept([MethodDescriptor.Health.check], AuthenticationInterceptor(authenticator: authenticator)),
      ] + extraInterceptors
    var router = Router(rules: rules, logger: logger)
    let health = HealthService(backend: backend.descriptor, version: configuration.version)
    health.register(on: &router)
    SessionService(backend: backend, policy: configuration.policy, clock: configuration.clock, logger: logger)
      .register(on: &router)
    self.health = health
    self.logger = logger
    self.tcpSecurity =
      switch configuration.transport.tls {
      case nil: "plain"
      case .some(let tls) where tls.clientCAFile != nil: "mutual-tls"
      case .some: "tls"
      }
    self.transport = ServerTransport(configuration: configuration.transport, dispatcher: router, group: group, logger: logger)
  }

  /// Binds the listeners and returns the bound addresses.
  public func start() async throws -> ServerTransport.BoundAddresses {
    let bound = try await transport.start()
    logger.info(
      "listening",
      metadata: ["unix_socket": "\(bound.unixSocketPath ?? "-")", "tcp_port": "\(bound.tcpPort.map { "\($0)" } ?? "-")",
        "tcp_security": "\(bound.tcpPort == nil ? "-" : tcpSecurity)",
      ])
    return bound
  }

  /// Number of open client connections, tunnels included.
  public var connectionCount: Int { transport.connectionCount }

  /// Stops accepting, answers calls in flight (up to the drain grace) and closes connections.
  public func shutdown() async {
    health.markNotServing()
    await transport.shutdown()
    logger.info("stopped")
  }

  /// Starts, serves until graceful shutdown is requested, then drains.
  public func run() async throws {
    _ = try await start()
    try? await gracefulShutdown()
    await shutdown()
  }
}
