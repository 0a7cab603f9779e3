/// A session: one sandbox handed to one caller.
public struct Session: Hashable, Sendable, Codable {
  /// Lower-case UUID.
  public var id: String
  /// `sandbox-<first 8 characters of id>`.
  public var name: String
  /// The creator's namespace.
  public var namespace: String
  /// The creator's username, `system:serviceaccount:<namespace>:<name>`.
  public var creator: String
  /// The image (profile) the sandbox runs.
  public var image: String
  /// The state.
  public var status: SessionStatus
  /// Why the session is in its state, e.g. a start failure's stderr tail.
  public var statusMessage: String
  /// Creation time, Unix milliseconds.
  public var createdAtMs: Int64
  /// When the TTL runs out, Unix milliseconds.
  public var expiresAtMs: Int64
  /// Last activity (calls on the session, tunnel traffic), Unix milliseconds.
  public var lastActivityAtMs: Int64
  /// The TTL in seconds, as last set by create or renew.
  public var ttlSeconds: UInt32
  /// Idle timeout in seconds; 0 means none.
  public var idleTimeoutSeconds: UInt32
  /// Caller-supplied metadata, in the order given.
  public var metadata: [KeyValue]
  /// The user to log in as over SSH.
  public var sshUser: String
  /// The sandbox's SSH port.
  public var sshPort: UInt32
  /// The sandbox's address as the server reaches it (like a pod IP).
  public var address: String
  /// The sandbox SSH server's host public key, one OpenSSH line (`ssh-ed25519 AAAA…`); empty when
  /// the image has none. Clients pin it instead of trusting the key on first use.
  public var sshHostPublicKey: String

  /// Creates a session value.
  public init(
    id: String = "", name: String = "", namespace: String = "", creator: String = "", image: String = "",
    status: SessionStatus = .unspecified, statusMessage: String = "", createdAtMs: Int64 = 0,
    expiresAtMs: Int64 = 0, lastActivityAtMs: Int64 = 0, ttlSeconds: UInt32 = 0, idleTimeoutSeconds: UInt32 = 0,
    metadata: [KeyValue] = [], sshUser: String = "", sshPort: UInt32 = 0, address: String = "",
    sshHostPublicKey: String = ""
  ) {
    self.id = id
    self.name = name
    self.namespace = namespace
    self.creator = creator
    self.image = image
    self.status = status
    self.statusMessage = statusMessage
    self.createdAtMs = createdAtMs
    self.expiresAtMs = expiresAtMs
    self.lastActivityAtMs = lastActivityAtMs
    self.ttlSeconds = ttlSeconds
    self.idleTimeoutSeconds = idleTimeoutSeconds
    self.metadata = metadata
    self.sshUser = sshUser
    self.sshPort = sshPort
    self.address = address
    self.sshHostPublicKey = sshHostPublicKey
  }
}

extension Session {
  private enum CodingKeys: String, CodingKey {
    case id, name, namespace, creator, image, status, statusMessage, createdAtMs, expiresAtMs, lastActivityAtMs
    case ttlSeconds, idleTimeoutSeconds, metadata, sshUser, sshPort, address, sshHostPublicKey
  }

  /// Decodes a session; a record written before ``sshHostPublicKey`` existed decodes with it empty.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      id: try container.decode(String.self, forKey: .id),
      name: try container.decode(String.self, forKey: .name),
      namespace: try container.decode(String.self, forKey: .namespace),
      creator: try container.decode(String.self, forKey: .creator),
      image: try container.decode(String.self, forKey: .image),
      status: try container.decode(SessionStatus.self, forKey: .status),
      statusMessage: try container.decode(String.self, forKey: .statusMessage),
      createdAtMs: try container.decode(Int64.self, forKey: .createdAtMs),
      expiresAtMs: try container.decode(Int64.self, forKey: .expiresAtMs),
      lastActivityAtMs: try container.decode(Int64.self, forKey: .lastActivityAtMs),
      ttlSeconds: try container.decode(UInt32.self, forKey: .ttlSeconds),
      idleTimeoutSeconds: try container.decode(UInt32.self, forKey: .idleTimeoutSeconds),
      metadata: try container.decode([KeyValue].self, forKey: .metadata),
      sshUser: try container.decode(String.self, forKey: .sshUser),
      sshPort: try container.decode(UInt32.self, forKey: .sshPort),
      address: try container.decode(String.self, forKey: .address),
      sshHostPublicKey: try container.decodeIfPresent(String.self, forKey: .sshHostPublicKey) ?? ""
    )
  }
}

/// A key–value pair of caller metadata.
public struct KeyValue: Hashable, Sendable, Codable {
  public var key: String
  public var value: String

  /// Creates a pair.
  public init(key: String, value: String) {
    self.key = key
    self.value = value
  }
}
