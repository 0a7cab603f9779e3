/// Cuts a byte stream into newline-delimited lines (a watch's events), whatever the chunking:
/// a line may arrive in many chunks and a chunk may hold many lines.
///
/// Bounded: a line longer than `maxLineBytes` is an error before it is buffered, never an
/// allocation. Empty lines are skipped and a `\r` before the newline is dropped.
struct JSONLineSplitter: Sendable {
  struct LineTooLong: Error {
    var limit: Int
  }

  let maxLineBytes: Int
  /// The start of a line whose newline has not come yet.
  private(set) var pending: [UInt8] = []

  init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

  /// The lines `chunk` completes, in order.
  mutating func append(_ chunk: some Collection<UInt8>) throws(LineTooLong) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var start = chunk.startIndex
    while let newline = chunk[start...].firstIndex(of: UInt8(ascii: "\n")) {
      let piece = chunk[start..<newline]
      guard pending.count + piece.count <= maxLineBytes + 1 else { throw LineTooLong(limit: maxLineBytes) }
      var line = pending
      line.append(contentsOf: piece)
      pending = []
      if line.last == UInt8(ascii: "\r") { line.removeLast() }
      guard line.count <= maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
      if !line.isEmpty { lines.append(line) }
      start = chunk.index(after: newline)
    }
    let rest = chunk[start...]
    // One byte of slack for a `\r` that may precede the newline.
    guard pending.count + rest.count <= maxLineBytes + 1 else { throw LineTooLong(limit: maxLineBytes) }
    pending.append(contentsOf: rest)
    return lines
  }

  /// Whether bytes of an unfinished line are held (other than whitespace).
  var holdsPartialLine: Bool {
    pending.contains { ![UInt8(ascii: " "), UInt8(ascii: "\r"), UInt8(ascii: "\t")].contains($0) }
  }
}
