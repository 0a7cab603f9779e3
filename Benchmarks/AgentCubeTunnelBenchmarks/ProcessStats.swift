import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// What /proc says about a process and the machine.
enum ProcessStats {
  /// CPU seconds used by `pid` and by its children it has waited for (socat forks one per
  /// connection; their time lands in the parent's `cutime`/`cstime` once reaped).
  static func cpuSeconds(pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after "(comm)": state is field 3; utime, stime, cutime, cstime are fields 14...17.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 15 else { return nil }
    let ticks = fields[11...14].compactMap { Double($0) }.reduce(0, +)
    return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
  }

  /// Busy and total CPU time of the whole machine, in seconds (from the first line of /proc/stat).
  static func machineCPU() -> (busy: Double, total: Double) {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
      let line = stat.split(separator: "\n").first
    else { return (0, 0) }
    let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard values.count >= 5 else { return (0, 0) }
    let total = values.prefix(8).reduce(0, +)
    let idle = values[3] + values[4]  // idle + iowait
    let hz = Double(sysconf(Int32(_SC_CLK_TCK)))
    return ((total - idle) / hz, total / hz)
  }

  /// A `kB` line of /proc/<pid>/status (`VmRSS`, `RssAnon`, ...), in KiB.
  static func statusKiB(pid: Int32, _ key: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("\(key):") {
      return Int(line.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace).first ?? "")
    }
    return nil
  }

  /// Number of open file descriptors of `pid`.
  static func openFiles(pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
  }

  /// Children of `pid` not yet reaped (or still running).
  static func hasChildren(pid: Int32) -> Bool {
    let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return !children.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
  }

  /// Raises this process's open-file limit to its hard limit.
  static func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
  }
}
