import CAgentCubeCrypto

/// HMAC-SHA256 under a key of its own, through OpenSSL's libcrypto.
///
/// ```swift
/// let mac = HMACSHA256.random()          // a fresh 32-byte key from the system's CSPRNG
/// let digest = mac.authenticate(bytes)   // 32 bytes
/// ```
public struct HMACSHA256: Sendable {
  private let key: [UInt8]

  /// An HMAC with `key`.
  public init(key: [UInt8]) { self.key = key }

  /// An HMAC with a random 32-byte key. Traps only if the CSPRNG fails (no entropy source).
  public static func random() -> Self {
    var key = [UInt8](repeating: 0, count: 32)
    guard agentcube_random_bytes(&key, key.count) == 1 else { fatalError("libcrypto's RAND_bytes failed") }
    return Self(key: key)
  }

  /// The 32-byte MAC of `bytes`.
  public func authenticate(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: 32)
    let ok = key.withUnsafeBytes { key in
      agentcube_hmac_sha256(key.baseAddress, key.count, bytes.baseAddress, bytes.count, &digest)
    }
    precondition(ok == 1, "libcrypto's HMAC failed")
    return digest
  }

  /// The 32-byte MAC of a string's UTF-8 bytes.
  public func authenticate(_ string: String) -> [UInt8] {
    var string = string
    return string.withUTF8 { authenticate(UnsafeRawBufferPointer($0)) }
  }
}
