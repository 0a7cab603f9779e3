/// The rule for the user a session's SSH server lets in (`CreateSessionRequest.ssh_user`): a POSIX
/// portable user name, so that it is safe in `/etc/passwd`, a pod spec and an SSH command line.
public enum SSHUserName {
  /// 1 to 32 bytes of `a-z`, `0-9`, `_`, `.` and `-`, not starting with `-`.
  public static func isValid(_ name: String) -> Bool {
    guard let first = name.utf8.first, (1...32).contains(name.utf8.count), first != UInt8(ascii: "-") else { return false }
    return name.utf8.allSatisfy {
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
    }
  }

  /// What ``isValid(_:)`` requires, for error messages.
  public static let rule = "1 to 32 characters of a-z, 0-9, '_', '.' and '-', not starting with '-'"
}
