import Glibc

/// Host user and group id ranges, one per sandbox: in-sandbox id `n` is host id `base + index × size + n`.
///
/// Every server on the machine claims a range with an exclusive lock on `<lockDirectory>/<index>.lock`
/// (the kernel drops it when the holder dies), so no two sandboxes ever share host ids, whichever
/// server started them. The lock directory must be root's own: ``SecurePath`` checks it.
struct IDRangePool: Sendable {
  /// First host id of range 0.
  let base: UInt32
  /// Ids per range (65,536: a whole 16-bit id space, as containers expect).
  let size: UInt32
  /// Number of ranges.
  let count: Int
  let lockDirectory: String

  /// A claimed range.
  struct Claim: Sendable {
    let index: Int
    let hostID: UInt32
    let lock: FileLock
  }

  init(base: UInt32, size: UInt32 = 65_536, count: Int, lockDirectory: String) throws {
    guard count > 0, UInt64(base) + UInt64(size) * UInt64(count) < UInt64(UInt32.max) else {
      throw LocalBackendError("the id ranges (\(count) × \(size) from \(base)) do not fit in 32-bit ids")
    }
    self.base = base
    self.size = size
    self.count = count
    self.lockDirectory = lockDirectory
  }

  func hostID(of index: Int) -> UInt32 { base + UInt32(index) * size }

  /// Claims a free range, starting the search at a random index so servers seldom collide.
  func claim() -> Claim? {
    let start = Int.random(in: 0..<count)
    for offset in 0..<count {
      let index = (start + offset) % count
      if let claim = claim(index: index) { return claim }
    }
    return nil
  }

  /// Claims range `index` again (a re-adopted sandbox keeps its ids), or `nil` when another holds it.
  func claim(index: Int) -> Claim? {
    guard (0..<count).contains(index) else { return nil }
    guard let lock = try? FileLock.acquire("\(lockDirectory)/\(index).lock") else { return nil }
    return Claim(index: index, hostID: hostID(of: index), lock: lock)
  }
}
