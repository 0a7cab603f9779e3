public import AgentCubeCore
import NIOCore
import NIOPosix
public import ServiceLifecycle

/// A ``AgentCubeCore/SessionBackend`` in memory, for tests of what sits above the seam: sessions
/// are records, and every session's ports reach one loopback server that greets with an SSH-like
/// banner line and then echoes what it gets.
public actor InMemoryBackend: SessionBackend {
  /// The banner the tunnel target sends first.
  public static let banner = "SSH-2.0-AgentCubeInMemory\r\n"

  public nonisolated let descriptor = BackendDescriptor(
    name: "memory", isolated: false, isolationMessage: "in-memory sessions for tests: no sandboxes")
  public nonisolated let wallClock: WallClock
  private var sessions: [String: Session] = [:]
  private var isShutDown = false
  private let listener: any Channel

  /// A backend whose tunnels reach a banner-and-echo server on 127.0.0.1 (started here).
  public init(wallClock: WallClock = .system) async throws {
    self.wallClock = wallClock
    listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(BannerEcho()) }
      }
      .bind(host: "127.0.0.1", port: 0).get()
  }

  public func createSession(_ spec: SessionSpec, caller: Caller, deadline: ContinuousClock.Instant) async throws
    -> Session
  {
    guard !isShutDown else { throw RPCError.unavailable("the in-memory backend is shut down") }
    guard sessions[spec.id] == nil else { throw RPCError(code: .alreadyExists, message: "session \(spec.id) exists") }
    let session = Session(
      id: spec.id, name: spec.name, namespace: spec.namespace, creator: spec.creator, image: spec.image,
      status: .running, createdAtMs: spec.createdAtMs, expiresAtMs: spec.expiresAtMs,
      lastActivityAtMs: wallClock.now(), ttlSeconds: spec.ttlSeconds, idleTimeoutSeconds: spec.idleTimeoutSeconds,
      metadata: spec.metadata, sshUser: spec.sshUser, sshPort: 22, address: "")
    sessions[spec.id] = session
    return session
  }

  public func session(id: String) async throws -> Session? {
    guard let session = sessions[id], isLive(session) else { return nil }
    return session
  }

  public func sessions(createdBy creator: String) async throws -> [Session] {
    sessions.values.filter { $0.creator == creator && isLive($0) }
      .sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
  }

  public func renewSession(id: String, ttlSeconds: UInt32, expiresAtMs: Int64, caller: Caller) async throws -> Session {
    guard var session = sessions[id], isLive(session) else { throw RPCError.notFound("session \(id) not found") }
    session.ttlSeconds = ttlSeconds
    session.expiresAtMs = expiresAtMs
    sessions[id] = session
    return session
  }

  public func deleteSession(id: String, caller: Caller) async throws {
    guard sessions.removeValue(forKey: id) != nil else { throw RPCError.notFound("session \(id) not found") }
  }

  public func connect(sessionID: String, port: Int, timeout: Duration) async throws -> SandboxConnection {
    guard let session = sessions[sessionID], isLive(session) else {
      throw RPCError.notFound("session \(sessionID) not found")
    }
    // Present: bound to an IPv4 port in init.
    return .address(host: "127.0.0.1", port: listener.localAddress!.port!)
  }

  public func recordActivity(id: String) async {
    guard var session = sessions[id] else { return }
    session.lastActivityAtMs = max(session.lastActivityAtMs, wallClock.now())
    sessions[id] = session
  }

  /// Forgets ended sessions until graceful shutdown or cancellation.
  public func run() async throws {
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        await self.forgetEnded()
        try? await Task.sleep(for: .milliseconds(100))
      }
    }
  }

  public func shutdown() async {
    guard !isShutDown else { return }
    isShutDown = true
    try? await listener.close()
  }

  private func forgetEnded() { sessions = sessions.filter { isLive($0.value) } }

  private func isLive(_ session: Session) -> Bool {
    let now = wallClock.now()
    return !session.hasExpired(at: now) && !session.isIdle(at: now)
  }
}

/// Sends ``InMemoryBackend/banner`` once connected, then echoes.
private final class BannerEcho: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  func channelActive(context: ChannelHandlerContext) {
    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: InMemoryBackend.banner)), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    context.writeAndFlush(data, promise: nil)
  }
}
