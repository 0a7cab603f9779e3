import AgentCubeCore
internal import CAgentCubeProtobuf

/// Unpacking with protobuf-c, and reading what it leaves behind.
///
/// protobuf-c copies each string field into a block of exactly its wire length plus one byte, adds a NUL
/// and hands it over as a `char *`: a NUL inside the string would silently cut it short. So unpacking goes
/// through an allocator that keeps each block's size just in front of it, and ``string(_:field:)`` reads a
/// string's real length from there. Every length protobuf-c allocates for has been checked against the
/// input by protobuf-c itself.
enum Unpacking {
  /// Unpacks `bytes` as an `M`, passes it to `body`, and frees it on every path.
  ///
  /// - Throws: ``RPCError`` `INVALID_ARGUMENT` "malformed <full proto message name>" when protobuf-c
  ///   rejects the bytes; whatever `body` throws.
  static func withUnpacked<M: GeneratedMessage, R>(
    _: M.Type, from bytes: UnsafeRawBufferPointer, _ body: (UnsafePointer<M>) throws(RPCError) -> R
  ) throws(RPCError) -> R {
    let descriptor = M.descriptor
    var allocator = ProtobufCAllocator(
      alloc: { _, size in Unpacking.allocate(size) },
      free: { _, pointer in Unpacking.deallocate(pointer) },
      allocator_data: nil
    )
    return try withUnsafeMutablePointer(to: &allocator) { allocator throws(RPCError) in
      let data = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
      guard let message = protobuf_c_message_unpack(descriptor, allocator, bytes.count, data) else {
        throw RPCError.invalidArgument("malformed \(String(cString: descriptor.pointee.name))")
      }
      defer { protobuf_c_message_free_unpacked(message, allocator) }
      return try body(UnsafeRawPointer(message).assumingMemoryBound(to: M.self))
    }
  }

  /// A string field of an unpacked message.
  ///
  /// - Throws: ``RPCError`` `INVALID_ARGUMENT` "`field` contains a NUL byte" or "`field` is not valid UTF-8".
  static func string(_ pointer: UnsafeMutablePointer<CChar>?, field: StaticString) throws(RPCError) -> String {
    // Absent fields point at protobuf-c's static empty string, which this allocator did not make.
    guard let pointer, pointer != cagentcube_protobuf_empty_string() else { return "" }
    let bytes = UnsafeRawBufferPointer(start: pointer, count: blockSize(pointer) - 1)
    guard !bytes.contains(0) else { throw .invalidArgument("\(field) contains a NUL byte") }
    guard let string = String(validating: bytes, as: UTF8.self) else {
      throw .invalidArgument("\(field) is not valid UTF-8")
    }
    return string
  }

  /// A `bytes` field of an unpacked message.
  static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
    data.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: data.data, count: data.len))
  }

  /// A message field of an unpacked message; an absent one reads as `absent`.
  static func message<V: ProtobufCMapped>(
    _ pointer: UnsafeMutablePointer<V.CMessage>?, absent: V
  ) throws(RPCError) -> V {
    guard let pointer else { return absent }
    return try V(cMessage: pointer)
  }

  /// A repeated message field of an unpacked message, each element read by `read`.
  static func repeated<M, Element>(
    _ count: Int, _ elements: UnsafeMutablePointer<UnsafeMutablePointer<M>?>?,
    _ read: (UnsafePointer<M>) throws(RPCError) -> Element
  ) throws(RPCError) -> [Element] {
    guard count > 0, let elements else { return [] }
    var result: [Element] = []
    result.reserveCapacity(count)  // protobuf-c has allocated and parsed all `count` of them
    for case let element? in UnsafeBufferPointer(start: elements, count: count) {
      result.append(try read(element))
    }
    return result
  }

  /// A repeated message field of an unpacked message.
  static func repeated<V: ProtobufCMapped>(
    _ count: Int, _ elements: UnsafeMutablePointer<UnsafeMutablePointer<V.CMessage>?>?
  ) throws(RPCError) -> [V] {
    try repeated(count, elements) { element throws(RPCError) in try V(cMessage: element) }
  }

  // MARK: The allocator

  /// Room in front of each block for its size; 16 keeps the alignment malloc gives.
  private static let headerSize = 16

  private static func allocate(_ size: Int) -> UnsafeMutableRawPointer? {
    let block = UnsafeMutableRawPointer.allocate(byteCount: headerSize + size, alignment: 16)
    block.storeBytes(of: size, as: Int.self)
    return block + headerSize
  }

  private static func deallocate(_ pointer: UnsafeMutableRawPointer?) {
    pointer.map { $0 - headerSize }?.deallocate()
  }

  /// The size requested for the block at `pointer`, which this allocator made.
  private static func blockSize(_ pointer: UnsafeRawPointer) -> Int {
    (pointer - headerSize).load(as: Int.self)
  }
}
