import AgentCubeCore
internal import CAgentCubeProtobuf

/// Memory for the C structs and strings of one message while protobuf-c packs it.
///
/// protobuf-c packs from a tree of C structs and NUL-terminated strings. The arena bump-allocates them
/// from a 1 KiB stack buffer and, once that is full, from heap chunks it frees at its end, so a typical
/// message is encoded without touching the heap. Nothing is freed one by one, and nothing it hands out
/// outlives ``with(_:)``.
struct EncodingArena: ~Copyable {
  /// Bytes on the stack; Swift puts temporary allocations up to 1 KiB there on Linux.
  private static let stackByteCount = 1024
  /// Size of the first heap chunk; each further chunk doubles it.
  private static let firstChunkByteCount = 4096
  /// Room at the start of each heap chunk for the link to the previous one.
  private static let chunkHeader = 16

  private var cursor: UnsafeMutableRawPointer
  private var end: UnsafeMutableRawPointer
  /// The newest heap chunk; each starts with a pointer to the one before.
  private var lastChunk: UnsafeMutableRawPointer?
  private var nextChunkByteCount = firstChunkByteCount

  private init(_ buffer: UnsafeMutableRawBufferPointer) {
    // A temporary allocation of a non-zero size has a base address.
    cursor = buffer.baseAddress!
    end = cursor + buffer.count
  }

  deinit {
    var chunk = lastChunk
    while let current = chunk {
      chunk = current.load(as: UnsafeMutableRawPointer?.self)
      current.deallocate()
    }
  }

  /// Runs `body` with a fresh arena.
  static func with<R>(_ body: (inout EncodingArena) throws -> R) throws -> R {
    try withUnsafeTemporaryAllocation(byteCount: stackByteCount, alignment: 16) { buffer in
      var arena = EncodingArena(buffer)
      return try body(&arena)
    }
  }

  /// A NUL-terminated copy of `string` for a `char *` field.
  ///
  /// - Throws: ``RPCError`` `INVALID_ARGUMENT` "`field` contains a NUL byte": a C string would end there.
  mutating func string(_ string: String, field: StaticString) throws(RPCError) -> UnsafeMutablePointer<CChar> {
    guard !string.isEmpty else { return cagentcube_protobuf_empty_string() }
    var string = string
    // Native strings are contiguous UTF-8 already, so this does not copy.
    let copy = string.withUTF8 { utf8 -> UnsafeMutablePointer<CChar>? in
      guard !utf8.contains(0) else { return nil }
      let copy = allocate(byteCount: utf8.count + 1, alignment: 1)
      copy.copyMemory(from: utf8.baseAddress!, byteCount: utf8.count)  // non-empty, so it has a base
      copy.storeBytes(of: 0, toByteOffset: utf8.count, as: UInt8.self)
      return copy.assumingMemoryBound(to: CChar.self)
    }
    guard let copy else { throw .invalidArgument("\(field) contains a NUL byte") }
    return copy
  }

  /// A message of type `M` set to its defaults.
  mutating func message<M: GeneratedMessage>(_: M.Type) -> UnsafeMutablePointer<M> {
    let message = allocate(M.self, count: 1)
    M.initialize(message)
    return message
  }

  /// `value` as a filled message.
  mutating func message<V: ProtobufCMapped>(_ value: V) throws(RPCError) -> UnsafeMutablePointer<V.CMessage> {
    let message = message(V.CMessage.self)
    try value.fill(message, arena: &self)
    return message
  }

  /// A repeated message field: its count and its array of messages, the first `count` elements each
  /// filled by `fill`.
  mutating func repeated<Element, M: GeneratedMessage>(
    _ elements: some Sequence<Element>, count: Int, as _: M.Type,
    fill: (Element, UnsafeMutablePointer<M>, inout EncodingArena) throws(RPCError) -> Void
  ) throws(RPCError) -> (count: Int, messages: UnsafeMutablePointer<UnsafeMutablePointer<M>?>?) {
    guard count > 0 else { return (0, nil) }
    let pointers = allocate(UnsafeMutablePointer<M>?.self, count: count)
    let messages = allocate(M.self, count: count)
    var filled = 0
    for element in elements {
      guard filled < count else { break }
      M.initialize(messages + filled)
      try fill(element, messages + filled, &self)
      (pointers + filled).initialize(to: messages + filled)
      filled += 1
    }
    return (filled, pointers)
  }

  /// A repeated message field: its count and its array of messages.
  mutating func repeated<V: ProtobufCMapped>(
    _ values: [V]
  ) throws(RPCError) -> (count: Int, messages: UnsafeMutablePointer<UnsafeMutablePointer<V.CMessage>?>?) {
    try repeated(values, count: values.count, as: V.CMessage.self) {
      value, message, arena throws(RPCError) in try value.fill(message, arena: &arena)
    }
  }

  // MARK: Allocation

  private mutating func allocate<T>(_: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    allocate(byteCount: MemoryLayout<T>.stride * count, alignment: MemoryLayout<T>.alignment)
      .bindMemory(to: T.self, capacity: count)
  }

  private mutating func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
    if let block = bump(byteCount: byteCount, alignment: alignment) { return block }
    addChunk(holding: byteCount + alignment)
    // The new chunk has room for `byteCount` bytes at any alignment up to `alignment`.
    return bump(byteCount: byteCount, alignment: alignment)!
  }

  private mutating func bump(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    let start = cursor.alignedUp(toMultipleOf: alignment)
    guard start <= end, start.distance(to: end) >= byteCount else { return nil }
    cursor = start + byteCount
    return start
  }

  private mutating func addChunk(holding byteCount: Int) {
    let size = Self.chunkHeader + max(byteCount, nextChunkByteCount)
    nextChunkByteCount *= 2
    let chunk = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
    chunk.storeBytes(of: lastChunk, as: UnsafeMutableRawPointer?.self)
    lastChunk = chunk
    cursor = chunk + Self.chunkHeader
    end = chunk + size
  }
}
