import CAgentCubeCrypto
import NIOCore
import NIOSSL

/// The subject of the certificate a client presented and the server verified (mutual TLS).
enum TLSClientSubject {
  /// The RFC 4514 subject ("CN=agent-1,O=Example") of the channel's verified peer certificate, or
  /// `nil` when there is none. Call on the channel's event loop once its handshake completed.
  static func of(_ channel: any Channel) -> String? {
    guard let certificate = try? channel.pipeline.syncOperations.nioSSL_peerCertificate(),
      let der = try? certificate.toDERBytes()
    else { return nil }
    var text = [CChar](repeating: 0, count: 1024)
    let length = der.withUnsafeBufferPointer { agentcube_x509_subject($0.baseAddress, $0.count, &text, text.count) }
    guard length >= 0 else { return nil }
    return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
