/// TLS for the TCP listener: the server's certificate chain and key, and, for mutual TLS, the CAs
/// whose client certificates it requires. The files are read again when they change (rotation
/// without a restart): every new connection looks at them first.
public struct ServerTLSConfiguration: Sendable, Hashable {
  /// PEM file of the server's certificate, then its intermediates.
  public var certificateChainFile: String
  /// PEM file of the certificate's private key.
  public var privateKeyFile: String
  /// PEM file of the CAs that sign client certificates; `nil` for no client certificates.
  public var clientCAFile: String?

  public init(certificateChainFile: String, privateKeyFile: String, clientCAFile: String? = nil) {
    self.certificateChainFile = certificateChainFile
    self.privateKeyFile = privateKeyFile
    self.clientCAFile = clientCAFile
  }

  /// Every file the context is made of, in a fixed order.
  var files: [String] { [certificateChainFile, privateKeyFile] + (clientCAFile.map { [$0] } ?? []) }
}
