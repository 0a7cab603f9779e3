/// The end of a sandbox's output, fit for an error message: valid UTF-8, printable, and without
/// anything that looks like a secret.
enum OutputTail {
  static func read(_ path: String, maxBytes: Int = 2048) -> String {
    guard let bytes = FileSystem.readTail(path, count: maxBytes) else { return "" }
    return clean(bytes, truncated: bytes.count == maxBytes)
  }

  static func clean(_ bytes: [UInt8], truncated: Bool) -> String {
    var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
    // A tail cut mid-line starts with a partial line; drop it when there is more.
    if truncated && lines.count > 1 { lines.removeFirst() }
    var redacting = false
    var kept: [String] = []
    for line in lines {
      if line.contains("-----BEGIN") && line.contains("PRIVATE KEY") { redacting = true }
      if redacting {
        if line.contains("-----END") { redacting = false }
        continue
      }
      kept.append(redact(String(line)))
    }
    let text = kept.joined(separator: "\n")
    return String(
      text.unicodeScalars.map { $0 == "\n" || $0 == "\t" || $0.value >= 0x20 && $0.value != 0x7f ? Character($0) : "?" }
    )
    .trimmingSpaces()
  }

  /// Hides the values of `token=`, `password=`, `secret=` and `authorization:`-like words.
  private static func redact(_ line: String) -> String {
    let lowered = line.lowercased()
    for marker in ["token", "password", "secret", "authorization", "bearer "] where lowered.contains(marker) {
      return "<line redacted>"
    }
    return line
  }
}

extension String {
  fileprivate func trimmingSpaces() -> String {
    var s = self[...]
    while let f = s.first, f.isWhitespace { s = s.dropFirst() }
    while let l = s.last, l.isWhitespace { s = s.dropLast() }
    return String(s)
  }
}
