import Foundation

/// Prints `error: <message>` to stderr.
func printError(_ message: String) {
  FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}

/// Prints a note for a person to stderr, keeping stdout for results.
func printNote(_ message: String) {
  FileHandle.standardError.write(Data("\(message)\n".utf8))
}

/// Prints `value` as one JSON object, keys sorted so the output is stable.
func printJSON(_ value: some Encodable) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Prints `key value` lines with the values aligned; a multi-line value continues under itself.
func printFields(_ fields: [(key: String, value: String)]) {
  let width = (fields.map(\.key.count).max() ?? 0) + 2
  for (key, value) in fields {
    let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
    for (index, line) in lines.enumerated() {
      print((index == 0 ? key : "").padded(to: width) + line)
    }
  }
}

/// Prints rows under a header, columns aligned and separated by three spaces.
func printTable(header: [String], rows: [[String]]) {
  let all = [header] + rows
  let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
  for row in all {
    let cells = row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padded(to: widths[$0] + 3) }
    print(cells.joined())
  }
}

extension String {
  /// The string with spaces appended up to `width` characters.
  func padded(to width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
