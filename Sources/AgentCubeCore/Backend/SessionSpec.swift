/// A validated request for a new sandbox, with every default already applied by the service.
public struct SessionSpec: Hashable, Sendable {
  /// Lower-case UUID chosen by the service.
  public var id: String
  /// `sandbox-<first 8 of id>`.
  public var name: String
  /// The creator's namespace.
  public var namespace: String
  /// The creator's username.
  public var creator: String
  /// Image name (never empty: the default is applied).
  public var image: String
  /// TTL in seconds, within the server's bounds.
  public var ttlSeconds: UInt32
  /// Idle timeout in seconds; 0 means none.
  public var idleTimeoutSeconds: UInt32
  /// The validated OpenSSH public key line, or empty for none.
  public var sshPublicKey: String
  /// Caller metadata.
  public var metadata: [KeyValue]
  /// Creation time, Unix milliseconds.
  public var createdAtMs: Int64
  /// The user SSH lets in with ``sshPublicKey`` (never empty: the default is applied).
  public var sshUser: String

  public init(
    id: String, name: String, namespace: String, creator: String, image: String, ttlSeconds: UInt32,
    idleTimeoutSeconds: UInt32, sshPublicKey: String, metadata: [KeyValue], createdAtMs: Int64,
    sshUser: String = "root"
  ) {
    self.id = id
    self.name = name
    self.namespace = namespace
    self.creator = creator
    self.image = image
    self.ttlSeconds = ttlSeconds
    self.idleTimeoutSeconds = idleTimeoutSeconds
    self.sshPublicKey = sshPublicKey
    self.metadata = metadata
    self.createdAtMs = createdAtMs
    self.sshUser = sshUser
  }

  /// When the TTL runs out, Unix milliseconds.
  public var expiresAtMs: Int64 { createdAtMs + Int64(ttlSeconds) * 1000 }
}
