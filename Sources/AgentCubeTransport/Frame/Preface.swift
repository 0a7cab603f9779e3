public import NIOCore

/// The 8 bytes each side sends first: `ACUBE`, a zero byte and a big-endian 16-bit version.
///
/// The client sends the highest version it speaks; the server answers with the version it picked
/// (the lower of the two), or a GOAWAY when it speaks none the client does.
public enum Preface {
  /// `A C U B E \0`.
  public static let magic: [UInt8] = Array("ACUBE".utf8) + [0]
  /// Length of a preface on the wire.
  public static let length = 8
  /// The protocol version this implementation speaks.
  public static let currentVersion: UInt16 = 1

  /// What the first bytes of a connection turned out to be.
  public enum Parsed: Equatable, Sendable {
    /// A preface with the peer's version.
    case preface(version: UInt16)
    /// The peer speaks HTTP (a request line's method).
    case http
    /// Anything else.
    case garbage
  }

  /// Writes a preface for `version`.
  public static func write(version: UInt16 = currentVersion, into buffer: inout ByteBuffer) {
    buffer.writeBytes(magic)
    buffer.writeInteger(version)
  }

  /// Parses the first bytes; `nil` while there are too few bytes to tell.
  ///
  /// HTTP is recognised from its first four bytes, so an HTTP client that waits for an answer
  /// after a short request line still gets one; fewer bytes that begin an HTTP method are waited on.
  public static func parse(_ buffer: inout ByteBuffer) -> Parsed? {
    let available = min(buffer.readableBytes, length)
    guard let head = buffer.getBytes(at: buffer.readerIndex, length: available) else { return nil }
    if available >= 4, httpMethodPrefixes.contains(where: { head.starts(with: $0) }) { return .http }
    // Fewer than 4 bytes that begin a method ("P", "GE"): wait, or the answer would depend on how the
    // first bytes happened to be split across reads.
    if available < 4, httpMethodPrefixes.contains(where: { $0.starts(with: head) }) { return nil }
    let expected = magic.prefix(available)
    guard head.prefix(magic.count).elementsEqual(expected.prefix(min(available, magic.count))) else { return .garbage }
    guard available == length else { return nil }
    buffer.moveReaderIndex(forwardBy: magic.count)
    // Safe: 8 readable bytes were checked above.
    return .preface(version: buffer.readInteger(as: UInt16.self)!)
  }

  private static let httpMethodPrefixes: [[UInt8]] = [
    "GET ", "POST", "PUT ", "HEAD", "DELE", "OPTI", "PATC", "CONN", "TRAC", "PRI ",
  ].map { Array($0.utf8) }

  /// The one-line plain-text answer for a peer that speaks HTTP.
  public static let httpAnswer =
    "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    + "This port speaks the AgentCube protocol (see docs/protocol.md), not HTTP.\n"
}
