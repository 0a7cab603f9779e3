import Glibc

/// What a run of sandboxes may leave behind in this process and on the machine.
struct Leftovers: Sendable {
  /// Children of this process in state Z (ended, not collected).
  var zombies: [Int32]
  /// Children of this process still running (not zombies), with their command names.
  var liveChildren: [(pid: Int32, command: String)]
  /// `/sys/fs/cgroup/<hierarchy>/agentcube/<id>` (v1) or `/sys/fs/cgroup/agentcube/<id>` (v2) that still exist.
  var cgroups: [String]
  /// Mount points at or under the state directory (this process's mount table).
  var mounts: [String]
  /// Loop devices whose backing file is under the state directory.
  var loopDevices: [String]
  /// Entries left in `<state>/sandboxes` (their files are removed in the background after a delete).
  var sandboxDirectories: [String]

  var isClean: Bool {
    zombies.isEmpty && liveChildren.isEmpty && cgroups.isEmpty && mounts.isEmpty && loopDevices.isEmpty
      && sandboxDirectories.isEmpty
  }

  /// Looks now, for the sessions `ids` of the backend with state in `stateDirectory`.
  static func scan(stateDirectory: String, ids: [String]) -> Leftovers {
    let me = getpid()
    var zombies: [Int32] = []
    var live: [(Int32, String)] = []
    for entry in listDirectory("/proc") {
      guard let pid = Int32(entry), let stat = readText("/proc/\(entry)/stat") else { continue }
      // "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
      guard let close = stat.lastIndex(of: ")"), let open = stat.firstIndex(of: "(") else { continue }
      let command = String(stat[stat.index(after: open)..<close])
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count >= 2, let ppid = Int32(fields[1]), ppid == me else { continue }
      if fields[0] == "Z" { zombies.append(pid) } else { live.append((pid, command)) }
    }
    var cgroups: [String] = []
    for hierarchy in listDirectory("/sys/fs/cgroup") {
      for id in ids {
        let v1 = "/sys/fs/cgroup/\(hierarchy)/agentcube/\(id)"
        if isDirectory(v1) { cgroups.append(v1) }
      }
    }
    for id in ids where isDirectory("/sys/fs/cgroup/agentcube/\(id)") { cgroups.append("/sys/fs/cgroup/agentcube/\(id)") }
    let mounts = (readText("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line -> String? in
      // Field 5 is the mount point (octal escapes for spaces; the state directory has none).
      let fields = line.split(separator: " ")
      guard fields.count > 4 else { return nil }
      let point = String(fields[4])
      return point == stateDirectory || point.hasPrefix(stateDirectory + "/") ? point : nil
    }
    var loops: [String] = []
    for device in listDirectory("/sys/block") where device.hasPrefix("loop") {
      if let backing = readText("/sys/block/\(device)/loop/backing_file"), backing.hasPrefix(stateDirectory + "/") {
        loops.append("/dev/\(device) → \(backing.trimmingSuffixNewline)")
      }
    }
    return Leftovers(
      zombies: zombies.sorted(), liveChildren: live.sorted { $0.0 < $1.0 }, cgroups: cgroups, mounts: mounts,
      loopDevices: loops, sandboxDirectories: listDirectory(stateDirectory + "/sandboxes").sorted())
  }

  var summary: String {
    func list(_ items: [String]) -> String { items.isEmpty ? "none" : "\(items.count) (\(items.prefix(5).joined(separator: ", "))\(items.count > 5 ? ", …" : ""))" }
    return "zombie children: \(list(zombies.map(String.init))); "
      + "live children: \(list(liveChildren.map { "\($0.pid) \($0.command)" })); "
      + "agentcube cgroups of these sessions: \(list(cgroups)); mounts under the state directory: \(list(mounts)); "
      + "loop devices backed by it: \(list(loopDevices)); sandbox directories: \(list(sandboxDirectories))"
  }

  private static func listDirectory(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafePointer(to: &entry.pointee.d_name) {
        String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
      }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }

  private static func isDirectory(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
  }

  private static func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      guard n > 0 else { break }
      bytes += buffer[..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

extension String {
  fileprivate var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
