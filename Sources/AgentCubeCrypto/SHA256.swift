import CAgentCubeCrypto

/// SHA-256 through OpenSSL's libcrypto, fed incrementally.
///
/// ```swift
/// var hash = SHA256()
/// hash.update(bytes)
/// let digest = hash.finalize()   // 32 bytes
/// ```
public struct SHA256: ~Copyable {
  private let context: OpaquePointer

  /// A fresh hash. Traps only if libcrypto cannot allocate a context (out of memory).
  public init() {
    guard let context = agentcube_sha256_new() else { fatalError("libcrypto could not create a SHA-256 context") }
    self.context = context
  }

  deinit { agentcube_sha256_free(context) }

  /// Adds `bytes` to the hash.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    _ = agentcube_sha256_update(context, base, bytes.count)
  }

  /// Adds `bytes` to the hash.
  public mutating func update(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { update($0) }
  }

  /// The 32-byte digest; the hash cannot be used afterwards.
  public consuming func finalize() -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    _ = agentcube_sha256_final(context, &digest)
    return digest
  }

  /// The digest of `bytes`, as lower-case hex.
  public static func hex(of bytes: [UInt8]) -> String {
    var hash = SHA256()
    hash.update(bytes)
    return hash.finalize().map { String($0, radix: 16).leftPadded() }.joined()
  }
}

extension String {
  fileprivate func leftPadded() -> String { count == 1 ? "0" + self : self }
}
