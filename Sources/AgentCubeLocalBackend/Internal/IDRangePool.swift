import Glibc

/// Host user and group id ranges, one per sandbox: in-sandbox id `n` is host id `base + index × size + n`.
///
/// A range is claimed by a file `<claimDirectory>/<index>.claim` naming the process that holds it
/// (pid and start time): the server while it starts the sandbox, then the sandbox's init for as
/// long as the sandbox lives, with or without a server. A claim whose process is gone is free.
/// Every server on the machine reads and writes claims under one `flock` (`<claimDirectory>/lock`),
/// so no two sandboxes ever get the same host ids, whichever server started them, and a server's
/// stop or crash frees nothing that still runs. The directory must be root's own (``SecurePath``).
struct IDRangePool: Sendable {
  /// First host id of range 0.
  let base: UInt32
  /// Ids per range (65,536: a whole 16-bit id space, as containers expect).
  let size: UInt32
  /// Number of ranges.
  let count: Int
  let claimDirectory: String

  init(base: UInt32, size: UInt32 = 65_536, count: Int, claimDirectory: String) throws {
    guard count > 0, UInt64(base) + UInt64(size) * UInt64(count) < UInt64(UInt32.max) else {
      throw LocalBackendError("the id ranges (\(count) × \(size) from \(base)) do not fit in 32-bit ids")
    }
    self.base = base
    self.size = size
    self.count = count
    self.claimDirectory = claimDirectory
  }

  func hostID(of index: Int) -> UInt32 { base + UInt32(index) * size }

  /// Claims a free range for `holder`, starting the search at a random index so servers seldom
  /// meet; `nil` when every range is held by a live process.
  func claim(for holder: ProcessIdentity) throws -> Int? {
    try withClaimsLocked {
      let start = Int.random(in: 0..<count)
      for offset in 0..<count {
        let index = (start + offset) % count
        if isFree(index) {
          try write(holder, index: index)
          return index
        }
      }
      return nil
    }
  }

  /// Makes `holder` the holder of range `index` if `current` (or nobody live) holds it now; whether it did.
  func transfer(index: Int, from current: ProcessIdentity?, to holder: ProcessIdentity) throws -> Bool {
    try withClaimsLocked {
      let named = self.holder(of: index)
      guard named == nil || named == current || !(named?.isAlive ?? false) else { return false }
      try write(holder, index: index)
      return true
    }
  }

  /// Frees range `index` if `holder` still holds it.
  func release(index: Int, heldBy holder: ProcessIdentity) {
    try? withClaimsLocked {
      if self.holder(of: index) == holder { unlink(path(of: index)) }
    }
  }

  /// The process a claim names, or `nil` when there is no readable claim.
  func holder(of index: Int) -> ProcessIdentity? {
    guard let bytes = FileSystem.read(path(of: index), limit: 128) else { return nil }
    let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard fields.count == 2, let pid = Int32(fields[0]), let start = UInt64(fields[1]) else { return nil }
    return ProcessIdentity(pid: pid, startTime: start)
  }

  private func isFree(_ index: Int) -> Bool {
    guard let named = holder(of: index) else { return true }
    return !named.isAlive
  }

  private func path(of index: Int) -> String { "\(claimDirectory)/\(index).claim" }

  private func write(_ holder: ProcessIdentity, index: Int) throws {
    try FileSystem.writeAtomically(Array("\(holder.pid) \(holder.startTime)\n".utf8), to: path(of: index), mode: 0o600)
  }

  /// Runs `body` holding the claims' lock (waiting for it at most 5 s: its holders only read and
  /// write a few small files).
  private func withClaimsLocked<T>(_ body: () throws -> T) throws -> T {
    let deadline = ContinuousClock.now + .seconds(5)
    var lock = try FileLock.acquire(claimDirectory + "/lock")
    while lock == nil {
      guard ContinuousClock.now < deadline else { throw LocalBackendError("the id-range claims stay locked") }
      usleep(500)
      lock = try FileLock.acquire(claimDirectory + "/lock")
    }
    defer { _ = lock }
    return try body()
  }
}

extension ProcessIdentity {
  /// This process.
  static var server: ProcessIdentity {
    ProcessIdentity.current(pid: getpid()) ?? ProcessIdentity(pid: getpid(), startTime: 0)
  }
}
