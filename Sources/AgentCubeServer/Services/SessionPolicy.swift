/// Bounds and defaults the session service applies to every request.
public struct SessionPolicy: Sendable {
  /// Smallest TTL accepted, in seconds. Default 60.
  public var minTTLSeconds: UInt32
  /// Largest TTL accepted, in seconds. Default 28800 (8 h).
  public var maxTTLSeconds: UInt32
  /// TTL when a request gives none. Default 3600.
  public var defaultTTLSeconds: UInt32
  /// Idle timeout when a request gives none; 0 disables it. Default 1800.
  public var defaultIdleTimeoutSeconds: UInt32
  /// Image when a request gives none. Default `default`.
  public var defaultImage: String
  /// SSH user when a request gives none (``AgentCubeCore/SSHUserName``). Default `root`.
  public var defaultSSHUser = "root"
  /// How long CreateSession waits for a sandbox when the call has no deadline. Default 60 s.
  public var startTimeout: Duration
  /// Most metadata pairs on a session. Default 64.
  public var maxMetadataEntries: Int
  /// Longest metadata key (bytes). Default 128.
  public var maxMetadataKeyLength: Int
  /// Longest metadata value (bytes). Default 4096.
  public var maxMetadataValueLength: Int
  /// Live sessions one caller may have at once (creates in flight included); one more is
  /// `RESOURCE_EXHAUSTED`. Default 32.
  public var maxSessionsPerIdentity = 32
  /// CreateSession calls one caller may make per second, on average (a token bucket refilled at
  /// this rate); one more is `RESOURCE_EXHAUSTED` with a `retry-after-ms` detail. Every call
  /// counts, whatever its outcome. Must be above 0. Default 5.
  public var createRatePerIdentity: Double = 5
  /// CreateSession calls one caller may make at once after a quiet time (the bucket's size); at
  /// least 1. Default 20.
  public var createBurstPerIdentity = 20
  /// Open tunnels one caller may hold at once (OpenTunnel calls under way included); one more is
  /// `RESOURCE_EXHAUSTED`. Default 64.
  public var maxTunnelsPerIdentity = 64

  /// The defaults above.
  public static var defaults: Self {
    Self(
      minTTLSeconds: 60, maxTTLSeconds: 28800, defaultTTLSeconds: 3600, defaultIdleTimeoutSeconds: 1800,
      defaultImage: "default", startTimeout: .seconds(60), maxMetadataEntries: 64, maxMetadataKeyLength: 128,
      maxMetadataValueLength: 4096)
  }

  public init(
    minTTLSeconds: UInt32, maxTTLSeconds: UInt32, defaultTTLSeconds: UInt32, defaultIdleTimeoutSeconds: UInt32,
    defaultImage: String, startTimeout: Duration, maxMetadataEntries: Int, maxMetadataKeyLength: Int,
    maxMetadataValueLength: Int
  ) {
    self.minTTLSeconds = minTTLSeconds
    self.maxTTLSeconds = maxTTLSeconds
    self.defaultTTLSeconds = defaultTTLSeconds
    self.defaultIdleTimeoutSeconds = defaultIdleTimeoutSeconds
    self.defaultImage = defaultImage
    self.startTimeout = startTimeout
    self.maxMetadataEntries = maxMetadataEntries
    self.maxMetadataKeyLength = maxMetadataKeyLength
    self.maxMetadataValueLength = maxMetadataValueLength
  }
}
