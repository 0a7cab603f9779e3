import Glibc

/// A sandbox's root: an empty directory with the mount points of ``RuntimeSpec/sandbox(_:)``
/// and the merged-/usr links, read-only inside. Everything the sandbox sees is mounted on it.
///
/// It belongs to the sandbox's root (sshd's StrictModes wants `/` owned by root), which cannot
/// change it: the mount is read-only.
enum RootFilesystem {
  static func make(at path: String, owner: UInt32) throws {
    try FileSystem.makeDirectory(path, mode: 0o755)
    guard chown(path, owner, owner) == 0 else { throw FileSystem.error("cannot hand to the sandbox:", path) }
    for name in RuntimeSpec.mountPoints {
      guard mkdir(path + "/" + name, 0o755) == 0 || errno == EEXIST else { throw FileSystem.error("cannot create", path + "/" + name) }
    }
    for (name, target) in RuntimeSpec.usrLinks.sorted(by: { $0.key < $1.key }) where FileSystem.exists("/" + target) {
      guard symlink(target, path + "/" + name) == 0 || errno == EEXIST else {
        throw FileSystem.error("cannot create the link", path + "/" + name)
      }
    }
  }
}
