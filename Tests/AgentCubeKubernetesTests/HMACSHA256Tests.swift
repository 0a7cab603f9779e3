import AgentCubeCrypto
import Foundation
import Testing

/// RFC 4231's HMAC-SHA256 test vectors.
@Suite struct HMACSHA256Tests {
  func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

  @Test func rfc4231TestCases() {
    #expect(
      hex(HMACSHA256(key: [UInt8](repeating: 0x0b, count: 20)).authenticate("Hi There"))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    #expect(
      hex(HMACSHA256(key: Array("Jefe".utf8)).authenticate("what do ya want for nothing?"))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    // Test case 3: 20 bytes of 0xaa, 50 bytes of 0xdd.
    let data = [UInt8](repeating: 0xdd, count: 50)
    #expect(
      hex(data.withUnsafeBytes { HMACSHA256(key: [UInt8](repeating: 0xaa, count: 20)).authenticate($0) })
        == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
  }

  @Test func randomKeysDiffer() {
    #expect(HMACSHA256.random().authenticate("token") != HMACSHA256.random().authenticate("token"))
  }
}
