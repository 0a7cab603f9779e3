public import AgentCubeCore
public import AgentCubeTransport
public import NIOCore

/// What a handler and its interceptors know about a call besides its message.
public struct ServerContext: Sendable {
  /// The method called.
  public let method: MethodDescriptor
  /// The call's id on its connection.
  public let callID: UInt32
  /// The peer's address.
  public let peer: String
  /// The peer process's pid, uid and gid on the Unix socket (`SO_PEERCRED`); `nil` on TCP.
  public var peerCredentials: PeerCredentials?
  /// The subject of the client certificate verified by mutual TLS; `nil` without one.
  public var tlsClientSubject: String?
  /// When the call's deadline passes, if it has one.
  public let deadline: ContinuousClock.Instant?
  /// The connection's event loop (a tunnel's target must be created on it).
  public let eventLoop: any EventLoop
  /// The authenticated caller; set by ``AuthenticationInterceptor``.
  public var caller: Caller?
  /// Where interceptors that run later report facts to ones that ran earlier (e.g. the identity to the logger).
  public var callRecord: CallRecord?

  public init(
    method: MethodDescriptor, callID: UInt32, peer: String, deadline: ContinuousClock.Instant?, eventLoop: any EventLoop
  ) {
    self.method = method
    self.callID = callID
    self.peer = peer
    self.deadline = deadline
    self.eventLoop = eventLoop
  }

  /// The authenticated caller, or `UNAUTHENTICATED` when the chain has none (a method exempt from
  /// authentication must not ask).
  public func requireCaller() throws(RPCError) -> Caller {
    guard let caller else { throw .unauthenticated("this call needs a bearer token") }
    return caller
  }
}
