import Glibc
import NIOCore
import NIOPosix
import NIOSSL

/// A short, human reason for a failed connect or a broken connection: the system's words for the
/// errno ("Connection refused", "No such file or directory"), never NIO's internal dumps.
package enum ConnectionErrorText {
  package static func describe(_ error: any Error) -> String {
    if let error = error as? NIOConnectionError {
      // Every address tried failed: the first one's reason (they are alike for loopback and Unix).
      if let first = error.connectionErrors.first { return describe(first.error) }
      if let dns = error.dnsAAAAError ?? error.dnsAError { return "name resolution failed (\(describe(dns)))" }
      return "no address to connect to"
    }
    if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
    if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return TLSErrorText.describe(error) }
    if let error = error as? ChannelError {
      switch error {
      case .connectTimeout: return "timed out"
      case .ioOnClosedChannel, .alreadyClosed, .eof: return "connection closed"
      default: return "connection failed"
      }
    }
    return "connection failed"
  }
}
