import NIOCore

extension ByteBuffer? {
  /// Appends `incoming` to this cumulation buffer, taking `incoming` as it is (no copy) when
  /// nothing is buffered.
  mutating func accumulate(_ incoming: inout ByteBuffer) {
    if var buffered = self, buffered.readableBytes > 0 {
      self = nil  // One reference while writing, so the append does not copy the storage.
      buffered.writeBuffer(&incoming)
      self = buffered
    } else {
      self = incoming
    }
  }
}
