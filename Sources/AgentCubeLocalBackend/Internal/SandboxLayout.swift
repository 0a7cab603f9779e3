/// Where a session's files live under the state directory.
///
/// ```
/// <state>/                      0700
///   sessions/<id>.json          the session record (SessionStore)
///   sandboxes/<id>/             0700, removed when the session ends
///     workspace/                the only place the sandbox may write
///     sshd/                     0711: sshd_config, host key (0600), authorized_keys (0644)
///     bin/dispatch              the OpenSSH image's ForceCommand
///     output.log                the sandbox's stdout and stderr
/// ```
struct SandboxLayout: Sendable {
  let stateDirectory: String
  let id: String

  var recordsDirectory: String { stateDirectory + "/sessions" }
  var sandboxesDirectory: String { stateDirectory + "/sandboxes" }
  var root: String { sandboxesDirectory + "/" + id }
  var workspace: String { root + "/workspace" }
  var sshd: String { root + "/sshd" }
  var bin: String { root + "/bin" }
  var output: String { root + "/output.log" }

  /// Whether `id` is safe as a file name: lower-case letters, digits and `-`, 1...64 characters.
  static func isValidID(_ id: String) -> Bool {
    (1...64).contains(id.utf8.count)
      && id.utf8.allSatisfy {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
          || $0 == UInt8(ascii: "-")
      }
  }
}

/// Quotes a word for /bin/sh.
func shellQuoted(_ word: String) -> String {
  "'" + word.replacing("'", with: "'\\''") + "'"
}
