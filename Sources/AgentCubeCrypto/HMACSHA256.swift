import CAgentCubeCrypto

/// HMAC-SHA256 under a key of its own, through OpenSSL's libcrypto; the key's padded states are
/// computed once, so each MAC is two SHA-256 runs over its own bytes.
///
/// ```swift
/// let mac = HMACSHA256.random()          // a fresh 32-byte key from the system's CSPRNG
/// let digest = mac.authenticate(bytes)   // 32 bytes
/// ```
public final class HMACSHA256: Sendable {
  private struct Key: @unchecked Sendable {  // read-only after init: libcrypto copies from it
    let pointer: UnsafeMutablePointer<agentcube_hmac_sha256_key>
  }

  private let key: Key

  /// An HMAC with `key` (at most 64 bytes). Traps only if libcrypto cannot allocate.
  public init(key bytes: [UInt8]) {
    precondition(bytes.count <= 64, "an HMAC-SHA256 key of more than 64 bytes must be hashed first")
    guard let pointer = bytes.withUnsafeBufferPointer({ agentcube_hmac_sha256_new($0.baseAddress, $0.count) }) else {
      fatalError("libcrypto could not make an HMAC key")
    }
    key = Key(pointer: pointer)
  }

  deinit { agentcube_hmac_sha256_free(key.pointer) }

  /// An HMAC with a random 32-byte key. Traps only if the CSPRNG fails (no entropy source).
  public static func random() -> HMACSHA256 {
    var bytes = [UInt8](repeating: 0, count: 32)
    guard agentcube_random_bytes(&bytes, bytes.count) == 1 else { fatalError("libcrypto's RAND_bytes failed") }
    defer { for index in bytes.indices { bytes[index] = 0 } }
    return HMACSHA256(key: bytes)
  }

  /// The 32-byte MAC of `bytes`.
  public func authenticate(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: 32) { digest, count in
      let ok = agentcube_hmac_sha256(key.pointer, bytes.baseAddress, bytes.count, digest.baseAddress)
      precondition(ok == 1, "libcrypto's SHA-256 failed")
      count = 32
    }
  }

  /// Writes the 32-byte MAC of `bytes` into `digest` (at least 32 bytes): no allocation.
  public func authenticate(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
    precondition(digest.count >= 32, "an HMAC-SHA256 digest needs 32 bytes")
    let ok = agentcube_hmac_sha256(
      key.pointer, bytes.baseAddress, bytes.count, digest.baseAddress!.assumingMemoryBound(to: UInt8.self))
    precondition(ok == 1, "libcrypto's SHA-256 failed")
  }

  /// The 32-byte MAC of a string's UTF-8 bytes.
  public func authenticate(_ string: String) -> [UInt8] {
    var string = string
    return string.withUTF8 { authenticate(UnsafeRawBufferPointer($0)) }
  }
}
