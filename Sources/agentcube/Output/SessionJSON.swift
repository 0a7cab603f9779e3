import AgentCube
import Foundation

/// A session as `--json` prints it: the proto's snake_case field names, the status as its lower-case
/// name, and each time both as the raw `*_ms` field and as an RFC 3339 string (`null` when unset).
struct SessionJSON: Encodable {
  let session: Session

  private enum CodingKeys: String, CodingKey {
    case id, name, namespace, creator, image, status, metadata, address
    case statusMessage = "status_message"
    case createdAtMs = "created_at_ms"
    case createdAt = "created_at"
    case expiresAtMs = "expires_at_ms"
    case expiresAt = "expires_at"
    case lastActivityAtMs = "last_activity_at_ms"
    case lastActivityAt = "last_activity_at"
    case ttlSeconds = "ttl_seconds"
    case idleTimeoutSeconds = "idle_timeout_seconds"
    case sshUser = "ssh_user"
    case sshPort = "ssh_port"
    case sshHostPublicKey = "ssh_host_public_key"
  }

  func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(session.id, forKey: .id)
    try container.encode(session.name, forKey: .name)
    try container.encode(session.namespace, forKey: .namespace)
    try container.encode(session.creator, forKey: .creator)
    try container.encode(session.image, forKey: .image)
    try container.encode(session.status.description, forKey: .status)
    try container.encode(session.statusMessage, forKey: .statusMessage)
    try container.encode(session.createdAtMs, forKey: .createdAtMs)
    try container.encode(TimeFormat.rfc3339(ms: session.createdAtMs), forKey: .createdAt)
    try container.encode(session.expiresAtMs, forKey: .expiresAtMs)
    try container.encode(TimeFormat.rfc3339(ms: session.expiresAtMs), forKey: .expiresAt)
    try container.encode(session.lastActivityAtMs, forKey: .lastActivityAtMs)
    try container.encode(TimeFormat.rfc3339(ms: session.lastActivityAtMs), forKey: .lastActivityAt)
    try container.encode(session.ttlSeconds, forKey: .ttlSeconds)
    try container.encode(session.idleTimeoutSeconds, forKey: .idleTimeoutSeconds)
    try container.encode(session.metadata, forKey: .metadata)
    try container.encode(session.sshUser, forKey: .sshUser)
    try container.encode(session.sshPort, forKey: .sshPort)
    try container.encode(session.address, forKey: .address)
    try container.encode(session.sshHostPublicKey, forKey: .sshHostPublicKey)
  }
}
