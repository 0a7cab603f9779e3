import Glibc

/// Blocking IPv4 TCP checks against loopback addresses, each bounded by a socket timeout.
public enum TCPProbe {
  /// Whether `address:port` accepts a TCP connection now.
  public static func accepts(address: String, port: UInt16, timeout: Duration = .seconds(5)) -> Bool {
    guard let fd = connect(address: address, port: port, timeout: timeout) else { return false }
    close(fd)
    return true
  }

  /// Connects, sends `message`, half-closes, and returns everything the peer sends back until it
  /// closes (at most `limit` bytes), or `nil` when the connection fails or times out.
  public static func exchange(
    address: String, port: UInt16, message: String, limit: Int = 64 * 1024, timeout: Duration = .seconds(5)
  ) -> String? {
    guard let fd = connect(address: address, port: port, timeout: timeout) else { return nil }
    defer { close(fd) }
    let bytes = Array(message.utf8)
    var sent = 0
    while sent < bytes.count {
      let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if count < 0, errno == EINTR { continue }
      guard count > 0 else { return nil }
      sent += count
    }
    shutdown(fd, Int32(SHUT_WR))
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while received.count < limit {
      let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if count < 0, errno == EINTR { continue }
      guard count >= 0 else { return nil }  // timed out or reset
      if count == 0 { break }
      received += buffer[..<count]
    }
    return String(decoding: received, as: UTF8.self)
  }

  private static func connect(address: String, port: UInt16, timeout: Duration) -> Int32? {
    var socketAddress = sockaddr_in()
    socketAddress.sin_family = sa_family_t(AF_INET)
    socketAddress.sin_port = port.bigEndian
    guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return nil }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return nil }
    let seconds = timeout.components.seconds
    var interval = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
    // On Linux SO_SNDTIMEO also bounds connect().
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
    let result = withUnsafePointer(to: &socketAddress) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard result == 0 else {
      close(fd)
      return nil
    }
    return fd
  }
}
