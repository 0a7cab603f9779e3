/// POSIX shell quoting, for command lines that are printed or handed to a shell.
enum ShellQuoting {
  /// Characters no shell treats specially.
  private static let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-")

  /// `word` as one shell word: unchanged when it holds only ``plain`` characters, else in single
  /// quotes (a single quote inside becomes `'\''`).
  static func quote(_ word: String) -> String {
    !word.isEmpty && word.allSatisfy(plain.contains) ? word : "'" + word.replacing("'", with: #"'\''"#) + "'"
  }

  /// `words` as one shell command line.
  static func join(_ words: [String]) -> String {
    words.map(quote).joined(separator: " ")
  }
}
