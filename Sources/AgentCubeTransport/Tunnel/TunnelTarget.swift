public import NIOCore

/// The far end of an OpenTunnel call: a connected channel to the sandbox port, created on the
/// client connection's event loop with auto-read off, and what to do when bytes flow.
public struct TunnelTarget: Sendable {
  /// The connected channel to the sandbox.
  public var channel: any Channel
  /// Called when bytes flow through the tunnel, at most once per ``activityInterval``.
  public var onActivity: @Sendable () -> Void
  /// How often at most ``onActivity`` runs. Default 5 s.
  public var activityInterval: TimeAmount

  public init(channel: any Channel, activityInterval: TimeAmount = .seconds(5), onActivity: @escaping @Sendable () -> Void = {}) {
    self.channel = channel
    self.onActivity = onActivity
    self.activityInterval = activityInterval
  }
}
