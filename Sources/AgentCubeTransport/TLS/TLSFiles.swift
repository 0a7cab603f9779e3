import Glibc
import NIOCore
import NIOSSL

/// A TLS file that could not be used, in words that name it (never its contents).
public struct TLSFileError: Error, CustomStringConvertible, Sendable {
  public var description: String
}

/// Loading PEM files into NIOSSL values with errors that say which file failed.
enum TLSFiles {
  static func certificates(_ path: String, role: String) throws(TLSFileError) -> [NIOSSLCertificate] {
    let certificates: [NIOSSLCertificate]
    do {
      certificates = try NIOSSLCertificate.fromPEMFile(path)
    } catch {
      throw TLSFileError(description: "cannot read the \(role) \(path): \(reason(error))")
    }
    guard !certificates.isEmpty else { throw TLSFileError(description: "the \(role) \(path) holds no PEM certificate") }
    return certificates
  }

  static func privateKey(_ path: String, role: String) throws(TLSFileError) -> NIOSSLPrivateKey {
    do {
      return try NIOSSLPrivateKey(file: path, format: .pem)
    } catch {
      throw TLSFileError(description: "cannot read the \(role) \(path): \(reason(error))")
    }
  }

  static func context(_ configuration: TLSConfiguration) throws(TLSFileError) -> NIOSSLContext {
    do {
      return try NIOSSLContext(configuration: configuration)
    } catch {
      throw TLSFileError(description: "the TLS files do not make a usable context (does the key match the certificate?): \(reason(error))")
    }
  }

  private static func reason(_ error: any Error) -> String {
    if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
    return TLSErrorText.describe(error)
  }
}
