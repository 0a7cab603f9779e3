import AgentCube
import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// The known-hosts files `agentcube ssh` pins session host keys with, and the ssh options for them.
@Suite("SSH known hosts")
struct SSHKnownHostsTests {
  static let sessionID = "379bec8b-0404-408c-a4f5-fa8284f16d46"
  static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAnoTdrmbu4rsW9kJy6pQZEmIUBA8NDorwza0t5DOFG root@sandbox"
  static let otherKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFFc3vpmNwVFPnLgyQ6VNpd7lpb5U66qgX21kLVFMCSh"

  @Test("The line is '<session id> <key>', with or without a comment")
  func line() throws {
    #expect(
      try SSHKnownHosts.line(sessionID: Self.sessionID, hostPublicKey: Self.key) == "\(Self.sessionID) \(Self.key)\n")
    #expect(
      try SSHKnownHosts.line(sessionID: "s-1", hostPublicKey: " \(Self.otherKey) ") == "s-1 \(Self.otherKey)\n",
      "surrounding spaces are dropped")
  }

  static let badKeys: [(key: String, why: String)] = [
    ("", "no SSH host key"),
    ("ssh-ed25519", "not an OpenSSH public key line"),
    ("ssh-ed25519 not-base64!", "not an OpenSSH public key line"),
    // The blob names ssh-ed25519.
    ("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFAnoTdrmbu4rsW9kJy6pQZEmIUBA8NDorwza0t5DOFG", "not an OpenSSH public key line"),
    ("ssh-ed25519 AAAA", "not an OpenSSH public key line"),
    (key + "\n* " + otherKey, "control characters"),
    (key + "\r", "control characters"),
    (key + "\0", "control characters"),
    ("ssh-ed25519 " + String(repeating: "A", count: 20_000), "longer than"),
  ]

  @Test("A key that is not one OpenSSH public key line is refused", arguments: badKeys)
  func badKey(_ bad: (key: String, why: String)) {
    let error = #expect(throws: SSHKnownHosts.Failure.self) {
      try SSHKnownHosts.line(sessionID: Self.sessionID, hostPublicKey: bad.key)
    }
    #expect(error?.description.contains(bad.why) == true, "\(String(describing: error))")
  }

  @Test(
    "A session id that is no plain name is refused (it names the file and the host)",
    arguments: [
      "", ".", "..", "../x", "a/b", "a b", "a,b", "*", "!a", "é", ".hidden", String(repeating: "a", count: 129),
    ]
  )
  func badSessionID(_ id: String) {
    #expect(!SSHKnownHosts.isValidSessionID(id))
    #expect(throws: SSHKnownHosts.Failure.self) { try SSHKnownHosts.line(sessionID: id, hostPublicKey: Self.key) }
  }

  @Test("The directory: $XDG_CACHE_HOME if absolute, else $HOME/.cache")
  func defaultDirectory() throws {
    let cases: [([String: String], String)] = [
      (["XDG_CACHE_HOME": "/x/cache", "HOME": "/h"], "/x/cache/agentcube/known_hosts"),
      (["XDG_CACHE_HOME": "/x/cache/", "HOME": "/h"], "/x/cache/agentcube/known_hosts"),
      (["XDG_CACHE_HOME": "relative", "HOME": "/h"], "/h/.cache/agentcube/known_hosts"),
      (["XDG_CACHE_HOME": "", "HOME": "/h/"], "/h/.cache/agentcube/known_hosts"),
      (["HOME": "/"], "/.cache/agentcube/known_hosts"),
    ]
    for (environment, expected) in cases {
      #expect(try SSHKnownHosts.defaultDirectory(environment: environment) == expected, "\(environment)")
    }
    // Without either, the password database's home directory.
    #expect(try SSHKnownHosts.defaultDirectory(environment: [:]).hasSuffix("/.cache/agentcube/known_hosts"))
  }

  @Test("write: missing directories 0700, the file 0600 with the line, replaced on the next write, no leftovers")
  func write() throws {
    let temporary = try TemporaryDirectory(prefix: "ackh")
    defer { temporary.remove() }
    let directory = temporary.file("cache/agentcube/known_hosts")
    let path = try SSHKnownHosts.write(sessionID: Self.sessionID, hostPublicKey: Self.key, directory: directory)
    #expect(path == "\(directory)/\(Self.sessionID)")
    #expect(contents(path) == "\(Self.sessionID) \(Self.key)\n")
    #expect(mode(path) == 0o600)
    for created in ["cache", "cache/agentcube", "cache/agentcube/known_hosts"] {
      #expect(mode(temporary.file(created)) == 0o700, "\(created)")
    }

    try SSHKnownHosts.write(sessionID: Self.sessionID, hostPublicKey: Self.otherKey, directory: directory)
    #expect(contents(path) == "\(Self.sessionID) \(Self.otherKey)\n")
    try SSHKnownHosts.write(sessionID: "other", hostPublicKey: Self.key, directory: directory)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["other", Self.sessionID].sorted())
  }

  @Test("write: an existing directory loses group and other permissions; a symbolic link or a bad path is refused")
  func writeIntoExisting() throws {
    let temporary = try TemporaryDirectory(prefix: "ackh")
    defer { temporary.remove() }
    let open = temporary.file("open")
    #expect(mkdir(open, 0o755) == 0 && chmod(open, 0o777) == 0)
    try SSHKnownHosts.write(sessionID: "s", hostPublicKey: Self.key, directory: open)
    #expect(mode(open) == 0o700)

    let link = temporary.file("link")
    #expect(symlink(open, link) == 0)
    #expect(throws: SSHKnownHosts.Failure.self) {
      try SSHKnownHosts.write(sessionID: "s", hostPublicKey: Self.key, directory: link)
    }
    for path in [temporary.file("with space"), temporary.file("per%cent"), "relative/dir"] {
      let error = #expect(throws: SSHKnownHosts.Failure.self) {
        try SSHKnownHosts.write(sessionID: "s", hostPublicKey: Self.key, directory: path)
      }
      #expect(error?.description.contains("XDG_CACHE_HOME") == true, "\(String(describing: error))")
      #expect(!FileManager.default.fileExists(atPath: path))
    }
    // A bad key writes nothing.
    #expect(throws: SSHKnownHosts.Failure.self) {
      try SSHKnownHosts.write(sessionID: "t", hostPublicKey: "", directory: open)
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: open) == ["s"])
  }

  @Test(
    "ssh-keygen finds the pinned key under the session id, and nothing else",
    .enabled(if: access("/usr/bin/ssh-keygen", X_OK) == 0, "needs ssh-keygen")
  )
  func sshKeygenReadsTheFile() async throws {
    let temporary = try TemporaryDirectory(prefix: "ackh")
    defer { temporary.remove() }
    let path = try SSHKnownHosts.write(sessionID: Self.sessionID, hostPublicKey: Self.key, directory: temporary.path)
    let found = try await TestProcess.run("/usr/bin/ssh-keygen", ["-F", Self.sessionID, "-f", path])
    #expect(found.exitCode == 0 && found.stdout.contains("\(Self.sessionID) \(Self.key)"), "\(found)")
    let other = try await TestProcess.run("/usr/bin/ssh-keygen", ["-F", "another-host", "-f", path])
    #expect(other.exitCode != 0 && other.stdout.isEmpty, "\(other)")
  }

  @Test("ssh options: pinned to the file under the alias, or no check at all")
  func sshOptions() {
    #expect(
      SSHHostKeyCheck.pinned(alias: "id", knownHostsFile: "/c/id").sshOptions == [
        "-o", "HostKeyAlias=id", "-o", "UserKnownHostsFile=/c/id", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no",
      ])
    #expect(
      SSHHostKeyCheck.ignored.sshOptions == ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
  }

  private func contents(_ path: String) -> String? {
    FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
  }

  private func mode(_ path: String) -> mode_t? {
    var status = stat()
    guard lstat(path, &status) == 0 else { return nil }
    return status.st_mode & 0o7777
  }
}
