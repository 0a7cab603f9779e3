import AgentCubeCore
import AgentCubeServer
import AgentCubeTestSupport
import AgentCubeTransport
import Logging
import NIOPosix

/// A real transport and router on a Unix socket in a temp dir, with test methods registered
/// through the same API as the real services.
struct RouterServer {
  let transport: ServerTransport
  let directory: TemporaryDirectory
  /// The TCP port bound, when the transport configuration asked for TCP.
  var tcpPort: Int?
  var socketPath: String { directory.file("s.sock") }

  static func start(
    maxConcurrentCalls: Int = 100, drainGrace: Duration = .seconds(5), rules: [InterceptorRule] = [],
    connection: (inout ServerConnectionConfiguration) -> Void = { _ in },
    transport: (inout ServerTransport.Configuration) -> Void = { _ in },
    register: (inout Router) -> Void
  ) async throws -> RouterServer {
    let directory = try TemporaryDirectory()
    var router = Router(rules: rules, logger: Logger(label: "test"))
    register(&router)
    var configuration = ServerTransport.Configuration.defaults
    configuration.unixSocketPath = directory.file("s.sock")
    configuration.connection = .forTests
    configuration.connection.maxConcurrentCalls = maxConcurrentCalls
    configuration.drainGrace = drainGrace
    connection(&configuration.connection)
    transport(&configuration)
    let transport = ServerTransport(
      configuration: configuration, dispatcher: router, group: MultiThreadedEventLoopGroup.singleton,
      logger: Logger(label: "test"))
    let bound = try await transport.start()
    return RouterServer(transport: transport, directory: directory, tcpPort: bound.tcpPort)
  }

  /// Runs `body` with a server of ``TestMethods`` (and its probe), then stops it, whatever happened.
  static func withTestMethods(
    maxConcurrentCalls: Int = 100, connection: (inout ServerConnectionConfiguration) -> Void = { _ in },
    transport: (inout ServerTransport.Configuration) -> Void = { _ in },
    _ body: (RouterServer, Probe) async throws -> Void
  ) async throws {
    let probe = Probe()
    let server = try await RouterServer.start(
      maxConcurrentCalls: maxConcurrentCalls, connection: connection, transport: transport
    ) {
      TestMethods.register(on: &$0, probe: probe)
    }
    do {
      try await body(server, probe)
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
  }

  func connect() async throws -> ClientConnection {
    try await ClientConnection.connect(to: .unixSocket(path: socketPath))
  }

  func stop() async {
    await transport.shutdown()
    directory.remove()
  }
}

/// Events reported by test handlers ("started", "cancelled"), awaited with a timeout.
final class Probe: Sendable {
  let stream: AsyncStream<String>
  let continuation: AsyncStream<String>.Continuation

  init() { (stream, continuation) = AsyncStream.makeStream() }

  func report(_ event: String) { continuation.yield(event) }

  func next(timeout: Duration = .seconds(20)) async throws -> String? {
    let stream = stream
    return try await withTimeout(timeout, "probe event") {
      var iterator = stream.makeAsyncIterator()
      return await iterator.next()
    }
  }
}

/// Test methods, registered with the real Router API.
enum TestMethods {
  static let echo = MethodDescriptor(service: "test.Service", method: "Echo")
  static let block = MethodDescriptor(service: "test.Service", method: "Block")
  static let peer = MethodDescriptor(service: "test.Service", method: "Peer")
  static let tlsSubject = MethodDescriptor(service: "test.Service", method: "TLSSubject")

  /// Echo answers `service` back as `version`; Block waits until cancelled and reports it.
  static func register(on router: inout Router, probe: Probe) {
    router.register(echo) { (request: HealthCheckRequest, _) in HealthCheckResponse(version: request.service) }
    // Answers the peer's credentials as the transport saw them: "pid uid gid", or "none".
    router.register(peer) { (_: HealthCheckRequest, context) in
      HealthCheckResponse(version: context.peerCredentials.map { "\($0.pid) \($0.uid) \($0.gid)" } ?? "none")
    }
    // Answers the verified client certificate's subject as the call context has it, or "none".
    router.register(tlsSubject) { (_: HealthCheckRequest, context) in
      HealthCheckResponse(version: context.tlsClientSubject ?? "none")
    }
    router.register(block) { (request: HealthCheckRequest, _) -> HealthCheckResponse in
      probe.report("started")
      do {
        try await Task.sleep(for: .seconds(Int(request.service) ?? 60))
      } catch {
        probe.report("cancelled")
        throw error
      }
      return HealthCheckResponse(version: "finished")
    }
  }
}
