import NIOSSL

/// TLS failures in short words: BoringSSL's reason names ("CERTIFICATE_VERIFY_FAILED"), without
/// error codes, source paths or NIO's dumps.
enum TLSErrorText {
  static func describe(_ error: any Error) -> String {
    if let error = error as? NIOSSLError {
      switch error {
      case .handshakeFailed(let reason): return "TLS handshake failed: \(describe(reason))"
      case .uncleanShutdown: return "the peer ended the TLS connection without closing it"
      case .failedToLoadCertificate: return "not a PEM certificate"
      case .failedToLoadPrivateKey: return "not a PEM private key"
      case .noSuchFilesystemObject: return "no such file"
      default: return "TLS failed"
      }
    }
    if let error = error as? BoringSSLError { return describe(error) }
    if let error = error as? NIOSSLExtraError {
      switch error {
      case .failedToValidateHostname: return "the server's certificate is not for this host name or address"
      default: return "TLS failed"
      }
    }
    return "TLS failed"
  }

  private static func describe(_ error: BoringSSLError) -> String {
    switch error {
    case .sslError(let stack), .unknownError(let stack):
      let reasons = stack.map { reason(of: "\($0)") }
      return reasons.isEmpty ? "TLS error" : reasons.joined(separator: ", ")
    case .zeroReturn, .syscallError: return "the connection closed during the handshake"
    default: return "TLS error"
    }
  }

  /// `Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at …`
  /// → `CERTIFICATE_VERIFY_FAILED`.
  private static func reason(of text: String) -> String {
    let message = text.split(separator: " at ", maxSplits: 1).first.map(String.init) ?? text
    return message.split(separator: ":").last.map(String.init) ?? message
  }
}
