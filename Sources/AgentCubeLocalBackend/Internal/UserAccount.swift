import Glibc

/// A user of this machine, from the password database.
struct UserAccount: Hashable, Sendable {
  var name: String
  var uid: uid_t
  var gid: gid_t
  var home: String

  /// The account called `name`, or `nil` when there is none.
  static func named(_ name: String) -> UserAccount? {
    lookup { getpwnam_r(name, &$0, $1, $2, &$3) }
  }

  /// The account of the effective user of this process, or `nil` when it has no entry.
  static func current() -> UserAccount? {
    let uid = geteuid()
    return lookup { getpwuid_r(uid, &$0, $1, $2, &$3) }
  }

  private static func lookup(
    _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
  ) -> UserAccount? {
    var entry = passwd()
    var result: UnsafeMutablePointer<passwd>?
    var buffer = [CChar](repeating: 0, count: 16 * 1024)
    let status = buffer.withUnsafeMutableBufferPointer { call(&entry, $0.baseAddress!, $0.count, &result) }
    guard status == 0, result != nil else { return nil }
    return UserAccount(
      name: String(cString: entry.pw_name), uid: entry.pw_uid, gid: entry.pw_gid, home: String(cString: entry.pw_dir))
  }
}
