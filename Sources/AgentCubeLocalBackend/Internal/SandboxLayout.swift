/// Where a session's files live under the state directory.
///
/// ```
/// <state>/                      0711: the sandbox's root (an unprivileged host uid) must reach its bundle
///   sessions/<id>.json          0700: the session record (SessionStore)
///   runc/                       0700: runc's own state (`runc --root`)
///   templates/                  0700: a formatted workspace image per size, copied for each sandbox
///   sandboxes/                  0711
///     <id>/                     0710, group: the sandbox's root group. The OCI bundle:
///       config.json             0600: the runtime spec
///       rootfs/                 0755: mount points and the merged-usr links; read-only inside
///       etc/                    passwd, group, shadow shown over the host's
///       ssh/                    0700, the sandbox's root: sshd_config, host key, authorized_keys
///       workspace.img           the sandbox's filesystem (its quota)
///       volume/                 0711: its mount point, so that everything below counts against the quota
///         workspace/            the sandbox's root: /workspace inside (only this is bound)
///         output.log            0600: the sandbox's stdout and stderr, which it cannot see or replace
/// ```
struct SandboxLayout: Sendable {
  let stateDirectory: String
  let id: String

  var recordsDirectory: String { stateDirectory + "/sessions" }
  var sandboxesDirectory: String { stateDirectory + "/sandboxes" }
  var root: String { sandboxesDirectory + "/" + id }
  var config: String { root + "/config.json" }
  var rootfs: String { root + "/rootfs" }
  var etc: String { root + "/etc" }
  var ssh: String { root + "/ssh" }
  var workspaceImage: String { root + "/workspace.img" }
  var volume: String { root + "/volume" }
  var workspace: String { volume + "/workspace" }
  var output: String { volume + "/output.log" }
  var pidFile: String { root + "/init.pid" }

  /// Where the sandbox sees its workspace.
  static let workspaceInside = "/workspace"
  /// Where the sandbox sees the `ssh` directory.
  static let sshInside = "/run/agentcube/ssh"

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
