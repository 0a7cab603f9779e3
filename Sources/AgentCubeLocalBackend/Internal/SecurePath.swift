import Glibc

/// Checks of the directories whose contents the backend trusts: another user of the machine
/// must not be able to swap them, plant a symbolic link in their place, or write into them.
enum SecurePath {
  /// Creates `path` (mode `mode`, owned by this user) when missing, then refuses it unless it is a
  /// real directory (not a symbolic link) owned by this user with no write access for others.
  static func ensurePrivateDirectory(_ path: String, mode: mode_t) throws {
    if mkdir(path, mode) != 0 && errno != EEXIST { throw FileSystem.error("cannot create directory", path) }
    var info = stat()
    guard lstat(path, &info) == 0 else { throw FileSystem.error("cannot inspect", path) }
    guard (info.st_mode & S_IFMT) == S_IFDIR else {
      throw LocalBackendError("\(path) must be a directory, not a symbolic link or file: refusing to use it")
    }
    guard info.st_uid == geteuid() else {
      throw LocalBackendError("\(path) belongs to uid \(info.st_uid), not this server's uid \(geteuid()): refusing to use it")
    }
    guard chmod(path, mode) == 0 else { throw FileSystem.error("cannot set the mode of", path) }
  }

  /// Why keeping sandboxes under `path` is unsafe, or `nil`: each directory from `/` to it (links
  /// resolved; the part not yet made is made by the backend with safe modes) must be owned by root
  /// or this user, writable by others only with the sticky bit (as `/tmp`), and searchable by
  /// others (`o+x`: runc starts a sandbox as its own root, an unprivileged host uid).
  static func problemWithAncestors(of path: String) -> String? {
    var existing = path
    while !FileSystem.exists(existing) && existing != "/" { existing = FileSystem.parent(of: existing) }
    guard let resolved = realpath(existing, nil) else {
      return "cannot resolve \(existing): \(String(cString: strerror(errno)))"
    }
    let real = String(cString: resolved)
    free(resolved)
    var prefixes = ["/"]
    var current = ""
    for component in real.split(separator: "/") {
      current += "/" + component
      prefixes.append(current)
    }
    for prefix in prefixes {
      var info = stat()
      guard lstat(prefix, &info) == 0 else { return "cannot inspect \(prefix): \(String(cString: strerror(errno)))" }
      guard (info.st_mode & S_IFMT) == S_IFDIR else { return "\(prefix) is not a directory" }
      guard info.st_uid == 0 || info.st_uid == geteuid() else {
        return "\(prefix) belongs to uid \(info.st_uid), who could replace what the server keeps below it"
      }
      if info.st_mode & 0o022 != 0 && info.st_mode & S_ISVTX == 0 {
        return "\(prefix) is writable by other users (mode \(String(info.st_mode & 0o7777, radix: 8))) without the sticky bit"
      }
      if info.st_mode & 0o001 == 0 && prefix != real && geteuid() == 0 {
        return "\(prefix) cannot be searched by other users (mode \(String(info.st_mode & 0o7777, radix: 8))), "
          + "and a sandbox's root is another user: give it o+x"
      }
    }
    return nil
  }
}
