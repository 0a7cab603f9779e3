public import AgentCubeCore
import Foundation
public import Logging
import NIOCore
import NIOPosix
import AgentCubeTransport

/// `agentcube.v1.SessionService`: validation, defaults, paging and the creator-only rule, over a
/// ``AgentCubeCore/SessionBackend``.
///
/// A caller that is not a session's creator gets `PERMISSION_DENIED` from every method that names
/// the session (as the original server did); ListSessions only ever returns the caller's own.
public struct SessionService: Sendable {
  private let backend: any SessionBackend
  private let policy: SessionPolicy
  private let tunnelConnectTimeout: Duration
  let logger: Logger
  private let tunnels = TunnelRegistry()
  private let creations = CountsPerIdentity()
  private let openTunnels = CountsPerIdentity()
  private let createRate: IdentityRateLimiter
  private let wallClock: WallClock

  /// A service over `backend`; `clock` times the per-caller CreateSession rate; creation and
  /// expiry times come from the backend's ``AgentCubeCore/SessionBackend/wallClock``.
  public init(
    backend: any SessionBackend, policy: SessionPolicy, tunnelConnectTimeout: Duration = .seconds(5),
    clock: MonotonicClock = .continuous, logger: Logger
  ) {
    self.backend = backend
    self.wallClock = backend.wallClock
    self.policy = policy
    self.tunnelConnectTimeout = tunnelConnectTimeout
    self.logger = logger
    self.createRate = IdentityRateLimiter(
      rate: policy.createRatePerIdentity, burst: policy.createBurstPerIdentity, clock: clock)
  }

  /// Registers every method on `router`.
  public func register(on router: inout Router) {
    typealias M = MethodDescriptor.SessionService
    router.register(M.createSession) { (request: CreateSessionRequest, context) in try await create(request, context: context) }
    router.register(M.getSession) { (request: GetSessionRequest, context) in try await get(request, context: context) }
    router.register(M.listSessions) { (request: ListSessionsRequest, context) in try await list(request, context: context) }
    router.register(M.renewSession) { (request: RenewSessionRequest, context) in try await renew(request, context: context) }
    router.register(M.deleteSession) { (request: DeleteSessionRequest, context) in try await delete(request, context: context) }
    router.register(M.openTunnel, opensTunnel: true) { (request: OpenTunnelRequest, context) in
      try await openTunnel(request, context: context)
    }
  }

  func create(_ request: CreateSessionRequest, context: ServerContext) async throws -> CreateSessionResponse {
    let caller = try context.requireCaller()
    if let wait = createRate.acquire(for: caller.identity.username) {
      throw refusal(
        caller, limit: "create-rate",
        "too many CreateSession calls: \(Self.decimal(policy.createRatePerIdentity)) per second per caller (bursts of \(policy.createBurstPerIdentity))",
        retryAfter: wait)
    }
    let ttl = try ttlSeconds(request.ttlSeconds)
    let key = request.sshPublicKey.isEmpty ? "" : try SSHPublicKey.validate(request.sshPublicKey)
    try validate(metadata: request.metadata)
    let image = request.image.isEmpty ? policy.defaultImage : request.image
    guard image.utf8.count <= 253 else { throw RPCError.invalidArgument("image name is longer than 253 bytes") }
    let sshUser = request.sshUser.isEmpty ? policy.defaultSSHUser : request.sshUser
    guard SSHUserName.isValid(sshUser) else { throw RPCError.invalidArgument("ssh_user must be \(SSHUserName.rule)") }
    let id = UUID().uuidString.lowercased()
    let spec = SessionSpec(
      id: id, name: "sandbox-\(id.prefix(8))", namespace: caller.identity.namespace,
      creator: caller.identity.username, image: image, ttlSeconds: ttl,
      idleTimeoutSeconds: request.idleTimeoutSeconds == 0 ? policy.defaultIdleTimeoutSeconds : request.idleTimeoutSeconds,
      sshPublicKey: key, metadata: request.metadata, createdAtMs: wallClock.now(), sshUser: sshUser)
    let deadline = context.deadline ?? .now + policy.startTimeout
    // The quota counts live sessions and creates still under way, so concurrent creates cannot pass it.
    let live = try await backend.sessions(createdBy: caller.identity.username).count
    guard creations.reserve(for: caller.identity.username, live: live, limit: policy.maxSessionsPerIdentity) else {
      throw refusal(
        caller, limit: "sessions-per-identity",
        "session quota reached: \(policy.maxSessionsPerIdentity) live sessions per caller; delete one or retry after one ends")
    }
    defer { creations.release(for: caller.identity.username) }
    let session = try await backend.createSession(spec, caller: caller, deadline: deadline)
    logger.info("session created", metadata: ["session.id": "\(id)", "identity": "\(caller.identity)", "session.image": "\(image)"])
    return CreateSessionResponse(session: session)
  }

  func get(_ request: GetSessionRequest, context: ServerContext) async throws -> GetSessionResponse {
    let session = try await authorizedSession(request.sessionID, context: context)
    return GetSessionResponse(session: session)
  }

  func list(_ request: ListSessionsRequest, context: ServerContext) async throws -> ListSessionsResponse {
    let caller = try context.requireCaller()
    let pageSize = request.pageSize == 0 ? 50 : Int(request.pageSize)
    guard (1...100).contains(pageSize) else { throw RPCError.invalidArgument("page_size must be between 1 and 100") }
    let cursor = request.pageToken.isEmpty ? nil : try PageToken(parsing: request.pageToken)
    let all = try await backend.sessions(createdBy: caller.identity.username)
    let remaining = cursor.map { cursor in all.filter { cursor.precedes($0) } } ?? all
    let page = Array(remaining.prefix(pageSize))
    let next = remaining.count > pageSize ? page.last.map { PageToken(after: $0).encoded } ?? "" : ""
    return ListSessionsResponse(sessions: page, nextPageToken: next)
  }

  func renew(_ request: RenewSessionRequest, context: ServerContext) async throws -> RenewSessionResponse {
    let session = try await authorizedSession(request.sessionID, context: context)
    let ttl = try ttlSeconds(request.ttlSeconds)
    let renewed = try await backend.renewSession(
      id: session.id, ttlSeconds: ttl, expiresAtMs: wallClock.now() + Int64(ttl) * 1000, caller: try context.requireCaller())
    return RenewSessionResponse(session: renewed)
  }

  func delete(_ request: DeleteSessionRequest, context: ServerContext) async throws -> DeleteSessionResponse {
    let session = try await authorizedSession(request.sessionID, context: context)
    try await backend.deleteSession(id: session.id, caller: try context.requireCaller())
    tunnels.closeAll(sessionID: session.id)
    logger.info("session deleted", metadata: ["session.id": "\(session.id)"])
    return DeleteSessionResponse()
  }

  func openTunnel(_ request: OpenTunnelRequest, context: ServerContext) async throws -> (OpenTunnelResponse, tunnelTarget: TunnelTarget?) {
    let session = try await authorizedSession(request.sessionID, context: context)
    guard session.status == .running else {
      throw RPCError.failedPrecondition("session \(session.id) is \(session.status), not running")
    }
    guard request.port <= 65535 else { throw RPCError.invalidArgument("port must be between 1 and 65535") }
    let port = request.port == 0 ? Int(session.sshPort) : Int(request.port)
    let caller = try context.requireCaller()
    let identity = caller.identity.username
    // Counted from before the connect, so that concurrent calls cannot pass the limit; the place is
    // given back when the tunnel's sandbox side closes (which ends the tunnel) or the connect fails.
    guard openTunnels.reserve(for: identity, limit: policy.maxTunnelsPerIdentity) else {
      throw refusal(
        caller, limit: "tunnels-per-identity",
        "tunnel quota reached: \(policy.maxTunnelsPerIdentity) open tunnels per caller; close one or retry after one ends")
    }
    let (target, channel): (String, any Channel)
    do {
      (target, channel) = try await connectToSandbox(session, port: port, context: context)
    } catch {
      openTunnels.release(for: identity)
      throw error
    }
    let openTunnels = openTunnels
    channel.closeFuture.whenComplete { _ in openTunnels.release(for: identity) }
    await backend.recordActivity(id: session.id)
    tunnels.register(channel, sessionID: session.id)
    let backend = backend
    let sessionID = session.id
    let tunnel = TunnelTarget(channel: channel) { Task { await backend.recordActivity(id: sessionID) } }
    return (OpenTunnelResponse(target: target), tunnel)
  }

  /// Connects to `port` of the session's sandbox the way the backend reaches it, on the call's
  /// event loop: a description of the far end and the channel (auto-read off).
  private func connectToSandbox(
    _ session: Session, port: Int, context: ServerContext
  ) async throws -> (String, any Channel) {
    let connection = try await backend.connect(sessionID: session.id, port: port, timeout: tunnelConnectTimeout)
    let target: String
    let channel: any Channel
    let bootstrap = ClientBootstrap(group: context.eventLoop)
      .connectTimeout(.nanoseconds(tunnelConnectTimeout.nanosecondsClamped))
      .channelOption(.allowRemoteHalfClosure, value: true)
      .channelOption(.autoRead, value: false)
    switch connection {
    case .address(let host, let port):
      target = "\(host):\(port)"
      do {
        channel = try await bootstrap.connect(host: host, port: port).get()
      } catch {
        throw RPCError.unavailable("cannot connect to \(target): \(Self.reason(error))")
      }
    case .connectedSocket(let descriptor, let description):
      target = description
      do {
        channel = try await bootstrap.withConnectedSocket(descriptor).get()
      } catch {
        close(descriptor)
        throw RPCError.unavailable("cannot use the connection to \(target): \(Self.reason(error))")
      }
    }
    return (target, channel)
  }

  /// The session named by `id` if the caller created it: the one place the creator-only rule lives.
  func authorizedSession(_ id: String, context: ServerContext) async throws -> Session {
    let caller = try context.requireCaller()
    guard UUID(uuidString: id) != nil else { throw RPCError.invalidArgument("session_id must be a UUID") }
    guard let session = try await backend.session(id: id.lowercased()) else {
      throw RPCError.notFound("session \(id) not found")
    }
    guard session.creator == caller.identity.username else {
      throw RPCError.permissionDenied("session \(id) belongs to another caller")
    }
    return session
  }

  private func ttlSeconds(_ requested: UInt32) throws(RPCError) -> UInt32 {
    let ttl = requested == 0 ? policy.defaultTTLSeconds : requested
    guard (policy.minTTLSeconds...policy.maxTTLSeconds).contains(ttl) else {
      throw .invalidArgument("ttl_seconds must be between \(policy.minTTLSeconds) and \(policy.maxTTLSeconds)")
    }
    return ttl
  }

  private func validate(metadata: [KeyValue]) throws(RPCError) {
    guard metadata.count <= policy.maxMetadataEntries else {
      throw .invalidArgument("at most \(policy.maxMetadataEntries) metadata entries are allowed")
    }
    for pair in metadata {
      guard !pair.key.isEmpty, pair.key.utf8.count <= policy.maxMetadataKeyLength else {
        throw .invalidArgument("metadata keys must be 1 to \(policy.maxMetadataKeyLength) bytes")
      }
      guard pair.value.utf8.count <= policy.maxMetadataValueLength else {
        throw .invalidArgument("metadata value of '\(pair.key)' is longer than \(policy.maxMetadataValueLength) bytes")
      }
    }
  }

  /// A short reason for a connect failure, without NIO's internal dumps.
  static func reason(_ error: any Error) -> String { ConnectionErrorText.describe(error) }
}

