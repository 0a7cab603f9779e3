import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Known-hosts files that pin each session's SSH host key, for `agentcube ssh`.
///
/// A session reports its sandbox's host public key (``Session/sshHostPublicKey``) over the
/// authenticated connection to the server, so OpenSSH can check the key it is shown instead of
/// trusting whatever key answers. Each session gets a file of its own, `<directory>/<session id>`,
/// holding one line, `<session id> <host public key>`; ssh uses it through ``SSHHostKeyCheck``:
///
/// ```swift
/// let file = try SSHKnownHosts.write(sessionID: session.id, hostPublicKey: session.sshHostPublicKey)
/// let options = SSHHostKeyCheck.pinned(alias: session.id, knownHostsFile: file).sshOptions
/// ```
///
/// The user's `~/.ssh/known_hosts` is never read or written.
package enum SSHKnownHosts {
  /// Why a known-hosts file cannot be made.
  package struct Failure: Error, CustomStringConvertible, Equatable {
    package let description: String

    package init(_ description: String) { self.description = description }
  }

  /// The longest host public key line accepted (an RSA key of 16384 bits takes under 3 KiB).
  package static let maxHostPublicKeyLength = 16 * 1024

  /// The directory of the known-hosts files: `$XDG_CACHE_HOME/agentcube/known_hosts`, else
  /// `$HOME/.cache/agentcube/known_hosts`, else the same under the user's home directory from the
  /// password database. Relative or empty values of the variables are ignored, as the XDG base
  /// directory specification says.
  ///
  /// - Throws: ``Failure`` when there is no home directory either.
  package static func defaultDirectory(
    environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(Failure) -> String {
    let cache: String
    if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
      cache = xdg
    } else if let home = environment["HOME"].flatMap({ $0.hasPrefix("/") ? $0 : nil }) ?? passwordDatabaseHome() {
      cache = withoutTrailingSlashes(home) + "/.cache"
    } else {
      throw Failure("no cache directory: set XDG_CACHE_HOME or HOME")
    }
    return withoutTrailingSlashes(cache) + "/agentcube/known_hosts"
  }

  /// The known-hosts line pinning `hostPublicKey` for the host name `sessionID`, with its newline.
  ///
  /// - Throws: ``Failure`` when `sessionID` is not a plain name (``isValidSessionID(_:)``) or
  ///   `hostPublicKey` is not one OpenSSH public key line: `<type> <base64 key> [comment]`, the key
  ///   naming the same type, without control characters, at most ``maxHostPublicKeyLength`` bytes.
  package static func line(sessionID: String, hostPublicKey: String) throws(Failure) -> String {
    guard isValidSessionID(sessionID) else {
      throw Failure("the session id '\(sessionID)' cannot name a known host")
    }
    let key = hostPublicKey.trimmingCharacters(in: .whitespaces)
    guard !key.isEmpty else { throw Failure("session \(sessionID) reports no SSH host key") }
    guard key.utf8.count <= maxHostPublicKeyLength else {
      throw Failure("the SSH host key of session \(sessionID) is longer than \(maxHostPublicKeyLength) bytes")
    }
    guard key.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
      throw Failure("the SSH host key of session \(sessionID) contains control characters")
    }
    let fields = key.split(whereSeparator: { $0 == " " || $0 == "\t" })
    guard fields.count >= 2, let type = fields.first, let blob = Data(base64Encoded: String(fields[1])),
      type.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "@.-_".contains($0)) }),
      embeddedKeyType(blob) == String(type)
    else {
      throw Failure("the SSH host key of session \(sessionID) is not an OpenSSH public key line: '\(key)'")
    }
    return "\(sessionID) \(key)\n"
  }

  /// Writes `<directory>/<sessionID>` holding ``line(sessionID:hostPublicKey:)`` and returns its path.
  ///
  /// Missing directories are created with mode 0700; the directory itself must be one (not a
  /// symbolic link) owned by this user, and loses any group and other permissions. The file is
  /// written to a temporary name with mode 0600 and renamed over the old one, so that a concurrent
  /// reader sees the old line or the new one, never a part.
  ///
  /// - Throws: ``Failure`` for a bad line (see ``line(sessionID:hostPublicKey:)``), a path ssh
  ///   could not take as its `UserKnownHostsFile` (white space, quotes, backslashes or `%`), or a
  ///   file system error.
  @discardableResult
  package static func write(
    sessionID: String, hostPublicKey: String, directory requested: String? = nil
  ) throws(Failure) -> String {
    let entry = try line(sessionID: sessionID, hostPublicKey: hostPublicKey)
    let directory: String
    if let requested { directory = requested } else { directory = try defaultDirectory() }
    guard directory.hasPrefix("/"), directory.allSatisfy({ !$0.isWhitespace && !"\"'\\%".contains($0) }) else {
      throw Failure(
        "ssh cannot use the known-hosts directory '\(directory)' (it needs an absolute path without white space,"
          + " quotes, backslashes or %): set XDG_CACHE_HOME to another directory")
    }
    try makePrivateDirectory(directory)
    let path = directory + "/" + sessionID
    let temporary = directory + "/.\(sessionID).\(UInt64.random(in: 0...UInt64.max)).tmp"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw Failure("cannot create \(temporary): \(lastError())") }
    do throws(Failure) {
      defer { close(descriptor) }
      // The umask may have taken more than group and other bits away.
      guard fchmod(descriptor, 0o600) == 0 else { throw Failure("cannot chmod \(temporary): \(lastError())") }
      try writeAll(descriptor, Array(entry.utf8), path: temporary)
    } catch {
      unlink(temporary)
      throw error
    }
    guard rename(temporary, path) == 0 else {
      let reason = lastError()
      unlink(temporary)
      throw Failure("cannot rename \(temporary) to \(path): \(reason)")
    }
    return path
  }

  /// Whether `id` can be both a known-hosts host name and a file name: 1 to 128 ASCII letters,
  /// digits, `.`, `_` and `-`, not starting with `.` (session ids are UUIDs).
  package static func isValidSessionID(_ id: String) -> Bool {
    !id.isEmpty && id.utf8.count <= 128 && !id.hasPrefix(".")
      && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
  }

  /// The key type an OpenSSH public key blob starts with (a `uint32` length, then the name).
  private static func embeddedKeyType(_ blob: Data) -> String? {
    let bytes = [UInt8](blob)
    guard bytes.count >= 4 else { return nil }
    let length = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
    guard length > 0, length <= bytes.count - 4 else { return nil }
    return String(bytes: bytes[4..<4 + length], encoding: .utf8)
  }

  /// Creates `path` and its missing parents with mode 0700; checks that `path` is a directory of
  /// this user and takes group and other permissions away from it.
  private static func makePrivateDirectory(_ path: String) throws(Failure) {
    var prefix = ""
    for component in path.split(separator: "/") {
      prefix += "/" + component
      if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
        throw Failure("cannot create \(prefix): \(lastError())")
      }
    }
    var status = stat()
    guard lstat(path, &status) == 0 else { throw Failure("cannot inspect \(path): \(lastError())") }
    guard status.st_mode & S_IFMT == S_IFDIR else { throw Failure("\(path) is not a directory") }
    guard status.st_uid == geteuid() else { throw Failure("\(path) belongs to another user") }
    if status.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
      throw Failure("cannot chmod \(path): \(lastError())")
    }
  }

  private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(Failure) {
    var offset = 0
    while offset < bytes.count {
      let count = bytes[offset...].withUnsafeBytes { posixWrite(descriptor, $0) }
      if count < 0 {
        if errno == EINTR { continue }
        throw Failure("cannot write \(path): \(lastError())")
      }
      offset += count
    }
  }

  private static func passwordDatabaseHome() -> String? {
    guard let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir else { return nil }
    let home = String(cString: directory)
    return home.hasPrefix("/") ? home : nil
  }

  private static func withoutTrailingSlashes(_ path: String) -> String {
    var path = Substring(path)
    while path.count > 1 && path.hasSuffix("/") { path = path.dropLast() }
    return path == "/" ? "" : String(path)
  }

  private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// `write(2)`, out of reach of ``SSHKnownHosts/write(sessionID:hostPublicKey:directory:)``'s name.
private func posixWrite(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
  write(descriptor, bytes.baseAddress, bytes.count)
}

/// How ssh checks a sandbox's host key: the options `agentcube ssh` passes it.
package enum SSHHostKeyCheck: Sendable, Hashable {
  /// Only the key in `knownHostsFile` (``SSHKnownHosts/write(sessionID:hostPublicKey:directory:)``),
  /// looked up as `alias` whatever host and port ssh connects to; no other known-hosts file is read
  /// or written.
  case pinned(alias: String, knownHostsFile: String)
  /// No check at all (`--insecure-ignore-host-key`): any key is accepted and none is recorded.
  case ignored

  /// The `-o` options for ssh.
  package var sshOptions: [String] {
    switch self {
    case .pinned(let alias, let knownHostsFile):
      [
        "-o", "HostKeyAlias=\(alias)", "-o", "UserKnownHostsFile=\(knownHostsFile)",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UpdateHostKeys=no",
      ]
    case .ignored:
      ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    }
  }
}
