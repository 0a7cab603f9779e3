import NIOCore
import Testing

@testable import AgentCubeTransport

@Suite struct PrefaceTests {
  @Test func parsesAPrefaceAndConsumesIt() {
    var buffer = ByteBuffer()
    Preface.write(version: 1, into: &buffer)
    buffer.writeString("rest")
    #expect(Preface.parse(&buffer) == .preface(version: 1))
    #expect(buffer.readableBytes == 4)
  }

  @Test func waitsForAllEightBytes() {
    var buffer = ByteBuffer(bytes: Array("ACUBE".utf8))
    #expect(Preface.parse(&buffer) == nil)
    #expect(buffer.readableBytes == 5)
  }

  @Test(arguments: ["GET / HTTP/1.1\r\n", "POST /v1/sandboxes HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n", "CONNECT x:22 HTTP/1.1\r\n"])
  func recognisesHTTP(_ line: String) {
    var buffer = ByteBuffer(string: line)
    #expect(Preface.parse(&buffer) == .http)
  }

  /// Found by fuzz-preface: a first read of "P" was answered as garbage, while "PRI " is HTTP.
  @Test(arguments: ["GET ", "POST", "PUT ", "PRI ", "CONN"])
  func recognisesHTTPArrivingOneByteAtATime(_ method: String) {
    var buffer = ByteBuffer()
    for byte in method.utf8.dropLast() {
      buffer.writeInteger(byte)
      #expect(Preface.parse(&buffer) == nil)
    }
    buffer.writeInteger(method.utf8.last!)
    #expect(Preface.parse(&buffer) == .http)
    #expect(buffer.readableBytes == 4)
  }

  @Test(arguments: [[0x16, 0x03, 0x01, 0x02], Array("SSH-2.0-OpenSSH".utf8), [0, 0, 0, 0, 0, 0, 0, 0]])
  func rejectsGarbageAsSoonAsItDiffers(_ bytes: [UInt8]) {
    var buffer = ByteBuffer(bytes: bytes)
    #expect(Preface.parse(&buffer) == .garbage)
  }
}
