// agentcube.v1.SessionService's messages (Protos/agentcube/v1/session_service.proto) ⇄ AgentCubeCore.
import AgentCubeCore
internal import CAgentCubeProtobuf

extension CreateSessionRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__CreateSessionRequest>) throws(RPCError) {
    self.init(
      image: try Unpacking.string(m.pointee.image, field: "CreateSessionRequest.image"),
      ttlSeconds: m.pointee.ttl_seconds,
      sshPublicKey: try Unpacking.string(m.pointee.ssh_public_key, field: "CreateSessionRequest.ssh_public_key"),
      metadata: try Unpacking.repeated(m.pointee.n_metadata, m.pointee.metadata),
      idleTimeoutSeconds: m.pointee.idle_timeout_seconds,
      sshUser: try Unpacking.string(m.pointee.ssh_user, field: "CreateSessionRequest.ssh_user")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__CreateSessionRequest>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.image = try arena.string(image, field: "CreateSessionRequest.image")
    m.pointee.ttl_seconds = ttlSeconds
    m.pointee.ssh_public_key = try arena.string(sshPublicKey, field: "CreateSessionRequest.ssh_public_key")
    (m.pointee.n_metadata, m.pointee.metadata) = try arena.repeated(metadata)
    m.pointee.idle_timeout_seconds = idleTimeoutSeconds
    m.pointee.ssh_user = try arena.string(sshUser, field: "CreateSessionRequest.ssh_user")
  }
}

// The three responses that carry one session always send it; an absent one reads as Session().

extension CreateSessionResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__CreateSessionResponse>) throws(RPCError) {
    self.init(session: try Unpacking.message(m.pointee.session, absent: Session()))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__CreateSessionResponse>, arena: inout EncodingArena)
    throws(RPCError)
  {
    m.pointee.session = try arena.message(session)
  }
}

extension GetSessionRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__GetSessionRequest>) throws(RPCError) {
    self.init(sessionID: try Unpacking.string(m.pointee.session_id, field: "GetSessionRequest.session_id"))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__GetSessionRequest>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.session_id = try arena.string(sessionID, field: "GetSessionRequest.session_id")
  }
}

extension GetSessionResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__GetSessionResponse>) throws(RPCError) {
    self.init(session: try Unpacking.message(m.pointee.session, absent: Session()))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__GetSessionResponse>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.session = try arena.message(session)
  }
}

extension DeleteSessionRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__DeleteSessionRequest>) throws(RPCError) {
    self.init(sessionID: try Unpacking.string(m.pointee.session_id, field: "DeleteSessionRequest.session_id"))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__DeleteSessionRequest>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.session_id = try arena.string(sessionID, field: "DeleteSessionRequest.session_id")
  }
}

extension DeleteSessionResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage _: UnsafePointer<Agentcube__V1__DeleteSessionResponse>) throws(RPCError) {
    self.init()
  }

  func fill(_: UnsafeMutablePointer<Agentcube__V1__DeleteSessionResponse>, arena _: inout EncodingArena)
    throws(RPCError)
  {}
}

extension ListSessionsRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__ListSessionsRequest>) throws(RPCError) {
    self.init(
      pageSize: m.pointee.page_size,
      pageToken: try Unpacking.string(m.pointee.page_token, field: "ListSessionsRequest.page_token")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__ListSessionsRequest>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.page_size = pageSize
    m.pointee.page_token = try arena.string(pageToken, field: "ListSessionsRequest.page_token")
  }
}

extension ListSessionsResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__ListSessionsResponse>) throws(RPCError) {
    self.init(
      sessions: try Unpacking.repeated(m.pointee.n_sessions, m.pointee.sessions),
      nextPageToken: try Unpacking.string(m.pointee.next_page_token, field: "ListSessionsResponse.next_page_token")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__ListSessionsResponse>, arena: inout EncodingArena) throws(RPCError)
  {
    (m.pointee.n_sessions, m.pointee.sessions) = try arena.repeated(sessions)
    m.pointee.next_page_token = try arena.string(nextPageToken, field: "ListSessionsResponse.next_page_token")
  }
}

extension RenewSessionRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__RenewSessionRequest>) throws(RPCError) {
    self.init(
      sessionID: try Unpacking.string(m.pointee.session_id, field: "RenewSessionRequest.session_id"),
      ttlSeconds: m.pointee.ttl_seconds
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__RenewSessionRequest>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.session_id = try arena.string(sessionID, field: "RenewSessionRequest.session_id")
    m.pointee.ttl_seconds = ttlSeconds
  }
}

extension RenewSessionResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__RenewSessionResponse>) throws(RPCError) {
    self.init(session: try Unpacking.message(m.pointee.session, absent: Session()))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__RenewSessionResponse>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.session = try arena.message(session)
  }
}

extension OpenTunnelRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__OpenTunnelRequest>) throws(RPCError) {
    self.init(
      sessionID: try Unpacking.string(m.pointee.session_id, field: "OpenTunnelRequest.session_id"),
      port: m.pointee.port
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__OpenTunnelRequest>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.session_id = try arena.string(sessionID, field: "OpenTunnelRequest.session_id")
    m.pointee.port = port
  }
}

extension OpenTunnelResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__OpenTunnelResponse>) throws(RPCError) {
    self.init(target: try Unpacking.string(m.pointee.target, field: "OpenTunnelResponse.target"))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__OpenTunnelResponse>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.target = try arena.string(target, field: "OpenTunnelResponse.target")
  }
}

extension Agentcube__V1__CreateSessionRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__create_session_request__init(m) }
}
extension Agentcube__V1__CreateSessionResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__create_session_response__init(m) }
}
extension Agentcube__V1__GetSessionRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__get_session_request__init(m) }
}
extension Agentcube__V1__GetSessionResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__get_session_response__init(m) }
}
extension Agentcube__V1__DeleteSessionRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__delete_session_request__init(m) }
}
extension Agentcube__V1__DeleteSessionResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__delete_session_response__init(m) }
}
extension Agentcube__V1__ListSessionsRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__list_sessions_request__init(m) }
}
extension Agentcube__V1__ListSessionsResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__list_sessions_response__init(m) }
}
extension Agentcube__V1__RenewSessionRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__renew_session_request__init(m) }
}
extension Agentcube__V1__RenewSessionResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__renew_session_response__init(m) }
}
extension Agentcube__V1__OpenTunnelRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__open_tunnel_request__init(m) }
}
extension Agentcube__V1__OpenTunnelResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__open_tunnel_response__init(m) }
}
