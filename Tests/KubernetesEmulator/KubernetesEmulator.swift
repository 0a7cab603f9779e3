import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A Kubernetes API server emulator for tests: HTTPS on loopback, bearer tokens from a table,
/// RBAC-like authorization, TokenReview, injected faults and counters tests can read.
///
/// Independent of the product's HTTP code; behaves as `kubernetes-api.md` describes a real
/// kube-apiserver for the surface it serves.
///
/// ```swift
/// let emulator = try await KubernetesEmulator.start(
///   EmulatorConfiguration(certificatePath: server.certificate, privateKeyPath: server.key, tokens: [reviewer]))
/// defer { Task { await emulator.stop() } }
/// emulator.inject(.tooManyRequests(retryAfterSeconds: 2), on: .route(.tokenReviews), times: 1)
/// // … drive the client at emulator.url …
/// #expect(emulator.count(of: .tokenReviews) == 2)
/// ```
public final class KubernetesEmulator: Sendable {
  typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
  typealias Listener = NIOAsyncChannel<Connection, Never>

  /// `https://127.0.0.1:<port>`.
  public let url: String
  /// The port it listens on (kept across ``refuseConnections()`` and ``acceptConnections()``).
  public let port: Int
  /// The tokens it accepts; change them while it runs.
  public let tokens: TokenTable
  /// The emulated agent-sandbox controller (its knobs: ``SandboxController/tick()``,
  /// ``SandboxController/endpoint(namespace:name:)``).
  public let controller: SandboxController
  /// The wall clock (``EmulatorConfiguration/clock``).
  public let clock: EmulatorClock

  let configuration: EmulatorConfiguration
  let router: Router
  let faults = FaultInjector()
  let recorder: RequestRecorder
  private let connections: ConnectionTracker
  private let sslContext: NIOSSLContext
  private let listeners: AsyncStream<Listener>.Continuation
  private let listening: Mutex<ListenerState>
  private let runner = Mutex<Task<Void, Never>?>(nil)
  let store: ObjectStore
  private let watchState: SharedWatchSettings

  private enum ListenerState {
    case listening(any Channel)
    case refusing
    case stopped
  }

  private init(
    configuration: EmulatorConfiguration, port: Int, sslContext: NIOSSLContext, recorder: RequestRecorder,
    connections: ConnectionTracker, listener: any Channel, listeners: AsyncStream<Listener>.Continuation
  ) {
    self.configuration = configuration
    self.port = port
    self.url = "https://127.0.0.1:\(port)"
    self.tokens = TokenTable(configuration.tokens)
    self.clock = configuration.clock
    let store = ObjectStore()
    self.store = store
    let watchState = SharedWatchSettings(configuration.watch)
    self.watchState = watchState
    let settings: @Sendable () -> WatchSettings = { watchState.value }
    let clock = configuration.clock
    let sandboxes = Sandboxes(store: store, now: { clock.now }, watchSettings: settings)
    self.router = Router(
      routes: [TokenReviews.route(tokens: tokens, apiAudiences: configuration.apiAudiences)]
        + sandboxes.routes(versions: configuration.sandboxes.servedVersions)
        + Pods(store: store, watchSettings: settings).routes + configuration.routes)
    self.controller = SandboxController(
      configuration: configuration.sandboxes.controller, store: store, clock: configuration.clock)
    self.sslContext = sslContext
    self.recorder = recorder
    self.connections = connections
    self.listeners = listeners
    self.listening = Mutex(.listening(listener))
  }

  /// Binds 127.0.0.1 (`configuration.port`, default any) over TLS with the given certificate and
  /// starts serving; returns once it accepts connections.
  public static func start(_ configuration: EmulatorConfiguration) async throws -> KubernetesEmulator {
    let chain = try NIOSSLCertificate.fromPEMFile(configuration.certificatePath)
    let key = try NIOSSLPrivateKey(file: configuration.privateKeyPath, format: .pem)
    var tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    if let clientCertificates = configuration.clientCertificates {
      tls.certificateVerification = .optionalVerification
      tls.trustRoots = .file(clientCertificates.certificateAuthorityPath)
    }
    let sslContext = try NIOSSLContext(configuration: tls)
    let recorder = RequestRecorder(limit: configuration.requestLogLimit)
    let connections = ConnectionTracker(recorder: recorder)
    let first = try await bind(port: configuration.port, sslContext: sslContext, connections: connections)
    guard let port = first.channel.localAddress?.port else {
      try? await first.channel.close()
      throw ChannelError.unknownLocalAddress
    }
    let (stream, continuation) = AsyncStream.makeStream(of: Listener.self)
    let emulator = KubernetesEmulator(
      configuration: configuration, port: port, sslContext: sslContext, recorder: recorder, connections: connections,
      listener: first.channel, listeners: continuation)
    let task = Task { await emulator.run(first: first, next: stream) }
    emulator.runner.withLock { $0 = task }
    emulator.controller.start()
    return emulator
  }

  /// Stops listening, closes every connection and waits until all is done.
  public func stop() async {
    let listener: (any Channel)? = listening.withLock { state in
      defer { state = .stopped }
      if case .listening(let channel) = state { return channel }
      return nil
    }
    try? await listener?.close()
    listeners.finish()
    store.close()
    await controller.stop()
    await connections.closeAll()
    let task = runner.withLock { $0 }
    task?.cancel()
    await task?.value
  }

  // MARK: Faults

  /// Makes requests in `scope` fail with `fault`, for the next `times` of them (`nil`: until
  /// ``clearFaults()``). Several faults can be armed; a request meets them in the order they were set
  /// (delays add up; the first answering fault answers).
  public func inject(_ fault: Fault, on scope: FaultScope = .allRoutes, times: Int? = nil) {
    faults.inject(fault, scope: scope, times: times)
  }

  /// Disarms every fault set by ``inject(_:on:times:)``.
  public func clearFaults() { faults.clear() }

  /// Closes the listening socket and every open connection: connecting gets `ECONNREFUSED` until
  /// ``acceptConnections()``. Returns once the socket is closed.
  public func refuseConnections() async {
    let listener: (any Channel)? = listening.withLock { state in
      guard case .listening(let channel) = state else { return nil }
      state = .refusing
      return channel
    }
    try? await listener?.close()
    store.cutWatches()
    await connections.closeAll()
  }

  /// Listens again, on the same port, after ``refuseConnections()``.
  public func acceptConnections() async throws {
    guard listening.withLock({ if case .refusing = $0 { true } else { false } }) else { return }
    let listener = try await Self.bind(port: port, sslContext: sslContext, connections: connections)
    let kept = listening.withLock { state in
      guard case .refusing = state else { return false }
      state = .listening(listener.channel)
      return true
    }
    if kept { listeners.yield(listener) } else { try? await listener.channel.close() }
  }

  // MARK: Watches and history

  /// Watch behaviour from now on (watches already open keep theirs, except
  /// ``WatchSettings/splitChunks``… which is also read at watch start).
  public var watchSettings: WatchSettings {
    get { watchState.value }
    set { watchState.value = newValue }
  }

  /// Compacts the history (as etcd's compaction): a watch or continue token from an older
  /// resourceVersion gets 410 Expired from now on. Returns the compaction point.
  @discardableResult
  public func compact() -> Int { store.compact() }

  /// Drops every open watch's connection mid-stream (no final chunk); returns how many.
  @discardableResult
  public func cutWatches() -> Int { store.cutWatches() }

  /// Sends a BOOKMARK now to every watch that allows them.
  public func sendBookmarks() { store.bookmark() }

  /// Watches open now.
  public var openWatches: Int { store.watchCount }

  /// The current (last written) resourceVersion.
  public var resourceVersion: Int { store.revision }

  /// A stored Sandbox as `version` shows it (no request, no authorization).
  public func sandbox(namespace: String, name: String, as version: SandboxVersion = .v1beta1) -> JSONValue? {
    store.get(ResourceType.sandboxes(version).key(namespace, name)).map { SandboxSchema.render($0, as: version) }
  }

  /// The names of the stored Sandboxes of `namespace`, sorted (no request, no authorization).
  public func sandboxNames(namespace: String) -> [String] {
    store.names(resource: "sandboxes", namespace: namespace)
  }

  /// A stored Pod.
  public func pod(namespace: String, name: String) -> JSONValue? {
    store.get(ResourceType.pods.key(namespace, name))
  }

  // MARK: Counters

  /// Requests answered (or dropped by a fault) on `route` since start or ``resetCounters()``.
  public func count(of route: RouteID) -> Int { recorder.count(of: route) }
  /// Requests of every route.
  public var requestCount: Int { recorder.total }
  /// The last requests (method, path, route, status), oldest first; no credentials.
  public var recentRequests: [RequestRecord] { recorder.recent }
  /// The logged requests `username` made (authenticated as them).
  public func requests(by username: String) -> [RequestRecord] { recorder.recent.filter { $0.user == username } }
  /// TCP connections accepted (each carries one TLS session), to tell connection reuse.
  public var connectionsAccepted: Int { recorder.connections }
  /// Zeroes the counters and empties the log.
  public func resetCounters() { recorder.reset() }

  // MARK: Serving

  private static func bind(port: Int, sslContext: NIOSSLContext, connections: ConnectionTracker) async throws
    -> Listener
  {
    try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .bind(host: "127.0.0.1", port: port) { channel in
        channel.eventLoop.makeCompletedFuture {
          connections.accepted(channel)
          try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          return try Connection(wrappingChannelSynchronously: channel)
        }
      }
  }

  private func run(first: Listener, next: AsyncStream<Listener>) async {
    await withDiscardingTaskGroup { group in
      var listener: Listener? = first
      var upcoming = next.makeAsyncIterator()
      while let current = listener {
        try? await current.executeThenClose { inbound in
          for try await connection in inbound {
            group.addTask { await self.serve(connection) }
          }
        }
        listener = await upcoming.next()
      }
    }
  }
}

/// The open connections, to close them all at once, and the count of accepted ones.
final class ConnectionTracker: Sendable {
  private let open = Mutex<[ObjectIdentifier: any Channel]>([:])
  private let recorder: RequestRecorder

  init(recorder: RequestRecorder) { self.recorder = recorder }

  func accepted(_ channel: any Channel) {
    recorder.connectionAccepted()
    let id = ObjectIdentifier(channel)
    open.withLock { $0[id] = channel }
    channel.closeFuture.whenComplete { [self] _ in _ = open.withLock { $0.removeValue(forKey: id) } }
  }

  func closeAll() async {
    let channels = open.withLock { Array($0.values) }
    for channel in channels { try? await channel.close() }
  }
}
