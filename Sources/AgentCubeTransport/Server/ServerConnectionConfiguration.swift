/// Limits and facts of one server-side connection.
public struct ServerConnectionConfiguration: Sendable {
  /// Largest frame accepted from a client, announced in SETTINGS. Default 4 MiB.
  public var maxFrameSize: Int
  /// Most calls one connection may have in flight; one more is answered `RESOURCE_EXHAUSTED`. Default 100.
  public var maxConcurrentCalls: Int
  /// Implementation name sent in SETTINGS.
  public var agent: String

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
