import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("AddressPool")
struct AddressPoolTests {
  @Test("parses loopback ranges only", arguments: ["10.0.0.0/8", "127.0.0.0/31", "127.1.2.3", "127.1.0.0/40", "x/16"])
  func invalid(_ cidr: String) {
    #expect(throws: LocalBackendError.self) { try AddressPool(cidr: cidr) }
  }

  @Test("hands out addresses in turn, skipping taken, .0 and .255, and wraps")
  func allocation() throws {
    var pool = try AddressPool(cidr: "127.99.7.252/30")  // hosts .253 and .254
    #expect(pool.capacity == 2)
    // The start is random (servers sharing a pool should not race); then addresses go in turn.
    let first = pool.allocate(port: 1, excluding: [])
    let second = pool.allocate(port: 1, excluding: [])
    #expect(Set([first, second]) == ["127.99.7.253", "127.99.7.254"])
    #expect(pool.allocate(port: 1, excluding: ["127.99.7.253"]) == "127.99.7.254")
    #expect(pool.allocate(port: 1, excluding: ["127.99.7.253", "127.99.7.254"]) == nil)
    var wide = try AddressPool(cidr: "127.99.8.0/23")
    var seen: Set<String> = []
    for _ in 0..<600 { if let address = wide.allocate(port: 1, excluding: seen) { seen.insert(address) } }
    #expect(seen.count == 508)  // 510 hosts less 127.99.8.255 and 127.99.9.0
    #expect(!seen.contains("127.99.8.255") && !seen.contains("127.99.9.0"))
  }

  @Test("skips an address where something listens on the port")
  func skipsListeners() throws {
    let base = "127.98.\(Int.random(in: 0...255))"
    let port: UInt16 = 2222
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    let address = try #require(SocketAddress(address: base + ".1", port: port))
    try #require(address.withSockAddr { bind(fd, $0, $1) } == 0 && listen(fd, 1) == 0)
    var pool = try AddressPool(cidr: base + ".0/30")  // hosts .1 and .2
    for _ in 0..<4 { #expect(pool.allocate(port: port, excluding: []) == base + ".2") }
    #expect(pool.allocate(port: port, excluding: [base + ".2"]) == nil)
  }
}
