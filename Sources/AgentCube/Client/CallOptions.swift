/// Per-call options.
public struct CallOptions: Sendable {
  /// How long the call may take; also sent to the server as its deadline. `nil`: the client's default.
  public var timeout: Duration?
  /// Extra request metadata (`authorization` is added by the client).
  public var metadata: Metadata

  /// No timeout override, no extra metadata.
  public static var defaults: Self { Self() }

  public init(timeout: Duration? = nil, metadata: Metadata = Metadata()) {
    self.timeout = timeout
    self.metadata = metadata
  }
}
