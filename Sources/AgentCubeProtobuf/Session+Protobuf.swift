// agentcube.v1.Session and agentcube.v1.MetadataPair ⇄ Session and KeyValue.
import AgentCubeCore
internal import CAgentCubeProtobuf

extension Session: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Session>) throws(RPCError) {
    self.init(
      id: try Unpacking.string(m.pointee.id, field: "Session.id"),
      name: try Unpacking.string(m.pointee.name, field: "Session.name"),
      namespace: try Unpacking.string(m.pointee.namespace_, field: "Session.namespace"),
      creator: try Unpacking.string(m.pointee.creator, field: "Session.creator"),
      image: try Unpacking.string(m.pointee.image, field: "Session.image"),
      status: SessionStatus(m.pointee.status),
      statusMessage: try Unpacking.string(m.pointee.status_message, field: "Session.status_message"),
      createdAtMs: m.pointee.created_at_ms,
      expiresAtMs: m.pointee.expires_at_ms,
      lastActivityAtMs: m.pointee.last_activity_at_ms,
      ttlSeconds: m.pointee.ttl_seconds,
      idleTimeoutSeconds: m.pointee.idle_timeout_seconds,
      metadata: try Unpacking.repeated(m.pointee.n_metadata, m.pointee.metadata),
      sshUser: try Unpacking.string(m.pointee.ssh_user, field: "Session.ssh_user"),
      sshPort: m.pointee.ssh_port,
      address: try Unpacking.string(m.pointee.address, field: "Session.address"),
      sshHostPublicKey: try Unpacking.string(m.pointee.ssh_host_public_key, field: "Session.ssh_host_public_key")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Session>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.id = try arena.string(id, field: "Session.id")
    m.pointee.name = try arena.string(name, field: "Session.name")
    m.pointee.namespace_ = try arena.string(namespace, field: "Session.namespace")
    m.pointee.creator = try arena.string(creator, field: "Session.creator")
    m.pointee.image = try arena.string(image, field: "Session.image")
    m.pointee.status = Agentcube__V1__SessionStatus(status)
    m.pointee.status_message = try arena.string(statusMessage, field: "Session.status_message")
    m.pointee.created_at_ms = createdAtMs
    m.pointee.expires_at_ms = expiresAtMs
    m.pointee.last_activity_at_ms = lastActivityAtMs
    m.pointee.ttl_seconds = ttlSeconds
    m.pointee.idle_timeout_seconds = idleTimeoutSeconds
    (m.pointee.n_metadata, m.pointee.metadata) = try arena.repeated(metadata)
    m.pointee.ssh_user = try arena.string(sshUser, field: "Session.ssh_user")
    m.pointee.ssh_port = sshPort
    m.pointee.address = try arena.string(address, field: "Session.address")
    m.pointee.ssh_host_public_key = try arena.string(sshHostPublicKey, field: "Session.ssh_host_public_key")
  }
}

extension KeyValue: ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__MetadataPair>) throws(RPCError) {
    self.init(
      key: try Unpacking.string(m.pointee.key, field: "MetadataPair.key"),
      value: try Unpacking.string(m.pointee.value, field: "MetadataPair.value")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__MetadataPair>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.key = try arena.string(key, field: "MetadataPair.key")
    m.pointee.value = try arena.string(value, field: "MetadataPair.value")
  }
}

extension SessionStatus {
  /// A number this version does not know (a newer peer's) reads as ``unspecified``.
  fileprivate init(_ status: Agentcube__V1__SessionStatus) {
    self = SessionStatus(rawValue: Int(status.rawValue)) ?? .unspecified
  }
}

extension Agentcube__V1__SessionStatus {
  fileprivate init(_ status: SessionStatus) {
    self.init(rawValue: .init(status.rawValue))
  }
}

extension Agentcube__V1__Session: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__session__init(m) }
}
extension Agentcube__V1__MetadataPair: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__metadata_pair__init(m) }
}
