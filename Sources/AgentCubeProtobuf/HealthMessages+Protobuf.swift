// agentcube.v1.Health's messages (Protos/agentcube/v1/session_service.proto) ⇄ AgentCubeCore.
import AgentCubeCore
internal import CAgentCubeProtobuf

extension HealthCheckRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__HealthCheckRequest>) throws(RPCError) {
    self.init(service: try Unpacking.string(m.pointee.service, field: "HealthCheckRequest.service"))
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__HealthCheckRequest>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.service = try arena.string(service, field: "HealthCheckRequest.service")
  }
}

extension HealthCheckResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__HealthCheckResponse>) throws(RPCError) {
    self.init(
      // A number this version does not know (a newer peer's) reads as unknown.
      status: ServingStatus(rawValue: Int(m.pointee.status.rawValue)) ?? .unknown,
      version: try Unpacking.string(m.pointee.version, field: "HealthCheckResponse.version"),
      backend: try Unpacking.string(m.pointee.backend, field: "HealthCheckResponse.backend"),
      isolated: m.pointee.isolated != 0,
      isolationMessage: try Unpacking.string(
        m.pointee.isolation_message, field: "HealthCheckResponse.isolation_message")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__HealthCheckResponse>, arena: inout EncodingArena) throws(RPCError)
  {
    m.pointee.status = .init(rawValue: .init(status.rawValue))
    m.pointee.version = try arena.string(version, field: "HealthCheckResponse.version")
    m.pointee.backend = try arena.string(backend, field: "HealthCheckResponse.backend")
    m.pointee.isolated = isolated ? 1 : 0
    m.pointee.isolation_message = try arena.string(isolationMessage, field: "HealthCheckResponse.isolation_message")
  }
}

extension Agentcube__V1__HealthCheckRequest: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__health_check_request__init(m) }
}
extension Agentcube__V1__HealthCheckResponse: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__health_check_response__init(m) }
}
