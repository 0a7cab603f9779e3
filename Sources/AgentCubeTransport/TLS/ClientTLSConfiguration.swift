import Glibc
import NIOSSL

/// How a client checks a `tls://` server and, for mutual TLS, proves who it is.
public struct ClientTLSConfiguration: Sendable, Hashable {
  /// PEM file of the CAs trusted to sign the server's certificate; `nil` for the system's roots.
  public var caFile: String?
  /// PEM file of the client's certificate chain (mutual TLS); needs ``keyFile``.
  public var certificateFile: String?
  /// PEM file of the client certificate's private key.
  public var keyFile: String?

  public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
    self.caFile = caFile
    self.certificateFile = certificateFile
    self.keyFile = keyFile
  }

  /// Whether `host` is an IPv4 or IPv6 address (checked against the certificate's IP addresses,
  /// and not sent as SNI) rather than a name.
  static func isIPAddress(_ host: String) -> Bool {
    var address = [UInt8](repeating: 0, count: 16)  // room for an in6_addr (and an in_addr)
    return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
  }

  /// The client's TLS context: TLS 1.2 or later, full verification (chain and host name).
  func makeContext() throws(TLSFileError) -> NIOSSLContext {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.minimumTLSVersion = .tlsv12
    if let caFile {
      tls.trustRoots = .certificates(try TLSFiles.certificates(caFile, role: "CA file"))
    }
    switch (certificateFile, keyFile) {
    case (nil, nil): break
    case (.some(let certificateFile), .some(let keyFile)):
      tls.certificateChain = try TLSFiles.certificates(certificateFile, role: "client certificate").map { .certificate($0) }
      tls.privateKey = .privateKey(try TLSFiles.privateKey(keyFile, role: "client key"))
    default:
      throw TLSFileError(description: "a client certificate needs both a certificate file and a key file")
    }
    return try TLSFiles.context(tls)
  }
}
