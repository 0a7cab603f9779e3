// agentcube.v1.wire (Protos/agentcube/v1/wire.proto) ⇄ the wire envelope types of AgentCubeCore.
import AgentCubeCore
internal import CAgentCubeProtobuf

extension WireSettings: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Wire__Settings>) throws(RPCError) {
    self.init(
      maxFrameSize: m.pointee.max_frame_size,
      maxConcurrentCalls: m.pointee.max_concurrent_calls,
      protocolVersion: m.pointee.protocol_version,
      agent: try Unpacking.string(m.pointee.agent, field: "Settings.agent")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Wire__Settings>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.max_frame_size = maxFrameSize
    m.pointee.max_concurrent_calls = maxConcurrentCalls
    m.pointee.protocol_version = protocolVersion
    m.pointee.agent = try arena.string(agent, field: "Settings.agent")
  }
}

extension WireRequest: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Wire__Request>) throws(RPCError) {
    self.init(
      method: try Unpacking.string(m.pointee.method, field: "Request.method"),
      metadata: try Metadata(m.pointee.n_metadata, m.pointee.metadata),
      timeoutMicros: m.pointee.timeout_micros,
      message: Unpacking.bytes(m.pointee.message)
    )
  }

  /// Everything but `message`, which ``withCMessage(arena:_:)`` points at the array's storage.
  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Wire__Request>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.method = try arena.string(method, field: "Request.method")
    (m.pointee.n_metadata, m.pointee.metadata) = try metadata.entries(arena: &arena)
    m.pointee.timeout_micros = timeoutMicros
  }

  func withCMessage<R>(
    arena: inout EncodingArena, _ body: (UnsafeMutablePointer<Agentcube__V1__Wire__Request>) throws -> R
  ) throws -> R {
    try message.withUnsafeBufferPointer { bytes in
      let m = try arena.message(self)
      m.pointee.message = ProtobufCBinaryData(bytes)
      return try body(m)
    }
  }
}

extension WireResponse: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Wire__Response>) throws(RPCError) {
    // An absent status is the default one: OK.
    let status = m.pointee.status.map { UnsafePointer($0) }
    self.init(
      code: StatusCode(rawValue: status?.pointee.code ?? 0),
      statusMessage: try Unpacking.string(status?.pointee.message, field: "Status.message"),
      details: try Unpacking.repeated(status?.pointee.n_details ?? 0, status?.pointee.details),
      message: Unpacking.bytes(m.pointee.message),
      trailers: try Metadata(m.pointee.n_trailers, m.pointee.trailers)
    )
  }

  /// Everything but `message`, which ``withCMessage(arena:_:)`` points at the array's storage.
  ///
  /// The status is always sent, even when it is OK with no message.
  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Wire__Response>, arena: inout EncodingArena) throws(RPCError) {
    let status = arena.message(Agentcube__V1__Wire__Status.self)
    status.pointee.code = code.rawValue
    status.pointee.message = try arena.string(statusMessage, field: "Status.message")
    (status.pointee.n_details, status.pointee.details) = try arena.repeated(details)
    m.pointee.status = status
    (m.pointee.n_trailers, m.pointee.trailers) = try trailers.entries(arena: &arena)
  }

  func withCMessage<R>(
    arena: inout EncodingArena, _ body: (UnsafeMutablePointer<Agentcube__V1__Wire__Response>) throws -> R
  ) throws -> R {
    try message.withUnsafeBufferPointer { bytes in
      let m = try arena.message(self)
      m.pointee.message = ProtobufCBinaryData(bytes)
      return try body(m)
    }
  }
}

extension WireGoAway: ProtobufCodable, ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Wire__GoAway>) throws(RPCError) {
    self.init(
      lastCallID: m.pointee.last_call_id,
      code: StatusCode(rawValue: m.pointee.code),
      message: try Unpacking.string(m.pointee.message, field: "GoAway.message")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Wire__GoAway>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.last_call_id = lastCallID
    m.pointee.code = code.rawValue
    m.pointee.message = try arena.string(message, field: "GoAway.message")
  }
}

// wire.ErrorDetail ⇄ ErrorDetail, inside wire.Status.
extension ErrorDetail: ProtobufCMapped {
  init(cMessage m: UnsafePointer<Agentcube__V1__Wire__ErrorDetail>) throws(RPCError) {
    self.init(
      type: try Unpacking.string(m.pointee.type, field: "ErrorDetail.type"),
      value: try Unpacking.string(m.pointee.value, field: "ErrorDetail.value")
    )
  }

  func fill(_ m: UnsafeMutablePointer<Agentcube__V1__Wire__ErrorDetail>, arena: inout EncodingArena) throws(RPCError) {
    m.pointee.type = try arena.string(type, field: "ErrorDetail.type")
    m.pointee.value = try arena.string(value, field: "ErrorDetail.value")
  }
}

// repeated wire.MetadataEntry ⇄ Metadata.
extension Metadata {
  /// Reads the entries of an unpacked message; keys are lower-cased as ``Metadata/add(_:_:)`` does.
  fileprivate init(
    _ count: Int, _ entries: UnsafeMutablePointer<UnsafeMutablePointer<Agentcube__V1__Wire__MetadataEntry>?>?
  ) throws(RPCError) {
    self.init()
    guard count > 0, let entries else { return }
    for case let entry? in UnsafeBufferPointer(start: entries, count: count) {
      add(
        try Unpacking.string(entry.pointee.key, field: "MetadataEntry.key"),
        try Unpacking.string(entry.pointee.value, field: "MetadataEntry.value")
      )
    }
  }

  /// The entries as a repeated field.
  fileprivate func entries(
    arena: inout EncodingArena
  ) throws(RPCError) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Agentcube__V1__Wire__MetadataEntry>?>?) {
    try arena.repeated(self, count: count, as: Agentcube__V1__Wire__MetadataEntry.self) {
      entry, m, arena throws(RPCError) in
      m.pointee.key = try arena.string(entry.key, field: "MetadataEntry.key")
      m.pointee.value = try arena.string(entry.value, field: "MetadataEntry.value")
    }
  }
}

extension ProtobufCBinaryData {
  /// Points at `bytes` without copying; valid only as long as `bytes` is.
  fileprivate init(_ bytes: UnsafeBufferPointer<UInt8>) {
    self.init(len: bytes.count, data: UnsafeMutablePointer(mutating: bytes.baseAddress))
  }
}

extension Agentcube__V1__Wire__Settings: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__settings__init(m) }
}
extension Agentcube__V1__Wire__MetadataEntry: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__metadata_entry__init(m) }
}
extension Agentcube__V1__Wire__Request: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__request__init(m) }
}
extension Agentcube__V1__Wire__Status: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__status__init(m) }
}
extension Agentcube__V1__Wire__ErrorDetail: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__error_detail__init(m) }
}
extension Agentcube__V1__Wire__Response: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__response__init(m) }
}
extension Agentcube__V1__Wire__GoAway: GeneratedMessage {
  static func initialize(_ m: UnsafeMutablePointer<Self>) { agentcube__v1__wire__go_away__init(m) }
}
