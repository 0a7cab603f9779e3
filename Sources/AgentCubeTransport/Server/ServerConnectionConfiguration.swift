/// Limits and facts of one server-side connection.
public struct ServerConnectionConfiguration: Sendable {
  /// Largest frame accepted from a client, announced in SETTINGS. Default 4 MiB.
  public var maxFrameSize: Int
  /// Most calls one connection may have in flight; one more is answered `RESOURCE_EXHAUSTED`. Default 100.
  public var maxConcurrentCalls: Int
  /// Implementation name sent in SETTINGS.
  public var agent: String
  /// How long a new connection has to send the whole preface; then it is closed. Default 10 s.
  public var prefaceTimeout: Duration = .seconds(10)
  /// How long a connection may stay open with no call in flight; then GOAWAY (code `OK`) and close.
  /// Default 5 min.
  public var idleTimeout: Duration = .seconds(300)
  /// How long a frame may take to arrive from its first byte to its last (a peer that trickles
  /// bytes is cut off: GOAWAY `DEADLINE_EXCEEDED`). Tunnels are raw bytes and have none. Default 10 s.
  public var frameReadTimeout: Duration = .seconds(10)
  /// After a protocol violation, how long the calls the GOAWAY covers may still run before the
  /// connection closes anyway. Default 10 s.
  public var violationGrace: Duration = .seconds(10)
  /// The least time a client should leave between two PINGs. Default 1 s.
  public var minPingInterval: Duration = .seconds(1)
  /// PINGs sooner than ``minPingInterval`` tolerated in a row; one more is GOAWAY
  /// `RESOURCE_EXHAUSTED` ("too many pings"). Default 3.
  public var maxPingStrikes = 3
  /// How long a connection may go without a byte from the client, calls in flight or not, before
  /// the server sends a keepalive PING (8 opaque bytes). Not after an OpenTunnel switch. Default 60 s.
  public var keepaliveInterval: Duration = .seconds(60)
  /// How long the client has, after a keepalive PING, to send any byte (its ACK, or anything);
  /// then GOAWAY `DEADLINE_EXCEEDED`, close, and the calls in flight are cancelled. Default 20 s.
  public var keepaliveTimeout: Duration = .seconds(20)

  /// The defaults above.
  public static var defaults: Self {
    Self(maxFrameSize: Frame.defaultMaxFrameSize, maxConcurrentCalls: 100, agent: "agentcube-swift/0.1")
  }

  public init(maxFrameSize: Int, maxConcurrentCalls: Int, agent: String) {
    self.maxFrameSize = maxFrameSize
    self.maxConcurrentCalls = maxConcurrentCalls
    self.agent = agent
  }
}
