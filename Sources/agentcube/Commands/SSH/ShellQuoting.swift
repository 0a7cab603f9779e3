/// POSIX shell quoting, for command lines that are printed or handed to a shell.
enum ShellQuoting {
  /// `word` as one shell word: unchanged when it holds only characters no shell treats specially,
  /// else in single quotes (a single quote inside becomes `'\''`).
  static func quote(_ word: String) -> String {
    let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
      scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "@%+=:,./_-".unicodeScalars.contains(scalar))
    }
    return plain ? word : "'" + word.replacing("'", with: #"'\''"#) + "'"
  }

  /// `words` as one shell command line.
  static func join(_ words: [String]) -> String {
    words.map(quote).joined(separator: " ")
  }
}
