public import AgentCubeCore
public import NIOCore

/// What the transport hands the server for every call: the decoded REQUEST envelope and facts
/// about the connection.
public struct IncomingCall: Sendable {
  /// The call's id on its connection.
  public var callID: UInt32
  /// `/<service>/<method>`.
  public var method: String
  /// The request metadata.
  public var metadata: Metadata
  /// The serialized request message.
  public var message: [UInt8]
  /// When the call's deadline passes, if it has one.
  public var deadline: ContinuousClock.Instant?
  /// The peer's address, for logs.
  public var peer: String
  /// The peer process's pid, uid and gid on a Unix socket (`SO_PEERCRED`); `nil` on TCP.
  public var peerCredentials: PeerCredentials?
  /// The subject of the client certificate verified by mutual TLS ("CN=agent-1,O=Example"); `nil`
  /// without one.
  public var tlsClientSubject: String?
  /// The connection's event loop; a tunnel's target channel must be created on it.
  public var eventLoop: any EventLoop

  public init(
    callID: UInt32, method: String, metadata: Metadata, message: [UInt8], deadline: ContinuousClock.Instant?,
    peer: String, peerCredentials: PeerCredentials? = nil, tlsClientSubject: String? = nil, eventLoop: any EventLoop
  ) {
    self.callID = callID
    self.method = method
    self.metadata = metadata
    self.message = message
    self.deadline = deadline
    self.peer = peer
    self.peerCredentials = peerCredentials
    self.tlsClientSubject = tlsClientSubject
    self.eventLoop = eventLoop
  }
}

/// How a call ended, as far as the transport must know.
public enum CallOutcome: Sendable {
  /// Send this RESPONSE.
  case response(WireResponse)
  /// Send this OK RESPONSE, then carry raw bytes between the connection and `target`.
  case tunnel(WireResponse, target: TunnelTarget)
}

/// The server side above the transport: runs calls to completion.
///
/// The transport cancels the task running ``dispatch(_:)`` when the client cancels the call, when
/// its deadline passes (answering `DEADLINE_EXCEEDED` itself) or when the connection closes.
public protocol ServerCallDispatcher: Sendable {
  /// Runs one call and returns its outcome; never throws: errors are statuses by now.
  func dispatch(_ call: IncomingCall) async -> CallOutcome

  /// Whether `method` switches the connection to raw bytes (OpenTunnel).
  func isTunnel(method: String) -> Bool
}
