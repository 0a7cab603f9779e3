import Glibc

/// Hands out one loopback address per session from a range such as `127.77.0.0/16`, the way a
/// cluster hands out pod IPs.
///
/// Linux routes all of 127.0.0.0/8 to the loopback interface, so any address in the range can be
/// bound without configuration. Addresses held by live sessions are skipped, and so is any address
/// where something already listens on the session's port (another server on the same pool).
/// Allocation goes round the range from where it last stopped, so a freed address is not reused at once.
struct AddressPool: Sendable {
  /// First and last usable host addresses, host byte order.
  let first: UInt32
  let last: UInt32
  private var next: UInt32

  /// Parses `a.b.c.d/n` within 127.0.0.0/8 with 8 <= n <= 30.
  init(cidr: String) throws {
    let parts = cidr.split(separator: "/")
    guard parts.count == 2, let bits = UInt32(parts[1]), (8...30).contains(bits),
      let base = AddressPool.parse(String(parts[0])), base >> 24 == 127
    else {
      throw LocalBackendError("address pool must be a range inside 127.0.0.0/8 like 127.77.0.0/16, not '\(cidr)'")
    }
    let mask = ~(UInt32.max >> bits)
    let network = base & mask
    first = network + 1
    last = (network | ~mask) - 1
    // A random start keeps servers that share the machine (and the pool) from racing for the same addresses.
    next = UInt32.random(in: first...last)
  }

  /// How many addresses the pool has.
  var capacity: Int { Int(last - first + 1) }

  /// A free address for a server on `port`, or `nil` when every address is taken.
  mutating func allocate(port: UInt16, excluding taken: Set<String>) -> String? {
    allocate(port: port, excluding: taken, claim: { _ in () })?.address
  }

  /// The next free address that `claim` also accepts (e.g. by locking it), with what `claim` returned.
  mutating func allocate<Claim>(
    port: UInt16, excluding taken: Set<String>, claim: (String) -> Claim?
  ) -> (address: String, claim: Claim)? {
    var candidate = next
    for _ in 0..<capacity {
      defer { candidate = candidate == last ? first : candidate + 1 }
      // x.y.z.0 and x.y.z.255 look like network or broadcast addresses to people; skip them.
      let lowByte = candidate & 0xff
      if lowByte == 0 || lowByte == 0xff { continue }
      let address = AddressPool.format(candidate)
      if taken.contains(address) { continue }
      guard let claimed = claim(address) else { continue }
      if !AddressPool.isFree(address: address, port: port) { continue }
      next = candidate == last ? first : candidate + 1
      return (address, claimed)
    }
    return nil
  }

  static func parse(_ text: String) -> UInt32? {
    let octets = text.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
    guard octets.count == 4 else { return nil }
    return octets.reduce(0) { $0 << 8 | UInt32($1) }
  }

  static func format(_ address: UInt32) -> String {
    "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
  }

  /// Whether nothing listens on `address:port`: a test bind that fails with EADDRINUSE says
  /// something does; any other failure (EACCES for a low port when not root) says nothing.
  static func isFree(address: String, port: UInt16) -> Bool {
    guard let socketAddress = SocketAddress(address: address, port: port) else { return false }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return true }
    defer { close(fd) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    return socketAddress.withSockAddr { bind(fd, $0, $1) } == 0 || errno != EADDRINUSE
  }
}

/// An IPv4 socket address for Glibc calls.
struct SocketAddress {
  private var storage = sockaddr_in()

  init?(address: String, port: UInt16) {
    storage.sin_family = sa_family_t(AF_INET)
    storage.sin_port = port.bigEndian
    guard inet_pton(AF_INET, address, &storage.sin_addr) == 1 else { return nil }
  }

  func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    withUnsafePointer(to: storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
  }
}
