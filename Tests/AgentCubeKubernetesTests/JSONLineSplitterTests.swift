import Testing

@testable import AgentCubeKubernetes

/// Watch lines cut at every offset, many per chunk, and over the limit.
@Suite struct JSONLineSplitterTests {
  static let text = Array("{\"type\":\"ADDED\",\"a\":\"\\u00e9\"}\n\r\n{\"type\":\"BOOKMARK\"}\r\n\n{\"b\":1}\n".utf8)
  static let expected = [
    Array("{\"type\":\"ADDED\",\"a\":\"\\u00e9\"}".utf8), Array("{\"type\":\"BOOKMARK\"}".utf8),
    Array("{\"b\":1}".utf8),
  ]

  @Test(arguments: [1, 2, 3, 7, 13, 64])
  func linesComeOutWholeWhateverTheChunking(size: Int) throws {
    var splitter = JSONLineSplitter(maxLineBytes: 64)
    var lines: [[UInt8]] = []
    var offset = 0
    while offset < Self.text.count {
      let end = min(offset + size, Self.text.count)
      lines += try splitter.append(Self.text[offset..<end])
      offset = end
    }
    #expect(lines == Self.expected)
    #expect(!splitter.holdsPartialLine)
  }

  @Test func aLineLongerThanTheLimitIsAnErrorBeforeItIsBuffered() throws {
    var splitter = JSONLineSplitter(maxLineBytes: 8)
    #expect(try splitter.append(Array("12345678\n".utf8)) == [Array("12345678".utf8)])
    _ = try splitter.append(Array("12345".utf8))
    #expect(throws: JSONLineSplitter.LineTooLong.self) { _ = try splitter.append(Array("6789abc".utf8)) }
    var whole = JSONLineSplitter(maxLineBytes: 8)
    #expect(throws: JSONLineSplitter.LineTooLong.self) { _ = try whole.append(Array("123456789\n".utf8)) }
  }

  @Test func anUnfinishedLineIsReported() throws {
    var splitter = JSONLineSplitter(maxLineBytes: 64)
    _ = try splitter.append(Array("{\"type\"".utf8))
    #expect(splitter.holdsPartialLine)
  }
}
