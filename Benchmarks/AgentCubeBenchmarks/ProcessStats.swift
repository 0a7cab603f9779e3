import Glibc

/// Facts about this process (which holds the server and the client) and the machine's load.
enum ProcessStats {
  /// Peak resident set size in KiB (`VmHWM` of /proc/self/status), or `nil` when unreadable.
  static func peakResidentKiB() -> Int? { statusField("VmHWM:") }

  /// Current resident set size in KiB (`VmRSS`), or `nil` when unreadable.
  static func residentKiB() -> Int? { statusField("VmRSS:") }

  /// Resets the peak RSS to the current RSS (writes `5` to /proc/self/clear_refs, Linux 4.0+), so
  /// the next ``peakResidentKiB()`` covers only what ran since. Returns whether it worked.
  @discardableResult
  static func resetPeakResident() -> Bool {
    let fd = open("/proc/self/clear_refs", O_WRONLY)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return write(fd, "5", 1) == 1
  }

  /// CPU time the whole machine spent busy (user, nice, system, irq, softirq, steal in the `cpu`
  /// line of /proc/stat), in microseconds; `nil` when unreadable. Minus this process's own CPU time,
  /// it shows how much other work competed for the cores during a row.
  static func machineBusyMicroseconds() -> Int64? {
    guard let file = fopen("/proc/stat", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ").dropFirst().compactMap { Int64($0.filter(\.isNumber)) }
    guard text.hasPrefix("cpu "), fields.count >= 8 else { return nil }
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busyTicks = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    let ticksPerSecond = Int64(sysconf(Int32(_SC_CLK_TCK)))
    guard ticksPerSecond > 0 else { return nil }
    return busyTicks * 1_000_000 / ticksPerSecond
  }

  /// Hands memory that malloc holds free back to the kernel (glibc's `malloc_trim(0)`, looked up
  /// at run time as Swift's Glibc module does not declare it), so that the latencies recorded for
  /// one row do not stay resident in the next. Returns whether glibc has the function.
  @discardableResult
  static func releaseFreeMemory() -> Bool {
    // A nil handle is RTLD_DEFAULT: search every loaded object.
    guard let symbol = dlsym(nil, "malloc_trim") else { return false }
    let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    _ = trim(0)
    return true
  }

  /// User plus system CPU time of the whole process, in microseconds.
  static func cpuMicroseconds() -> Int64 {
    var usage = rusage()
    guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
    func micros(_ time: timeval) -> Int64 { Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_usec) }
    return micros(usage.ru_utime) + micros(usage.ru_stime)
  }

  /// The first three fields of /proc/loadavg (1, 5 and 15 minutes), or `nil` when unreadable.
  static func loadAverage() -> String? {
    guard let file = fopen("/proc/loadavg", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.split(separator: " ").prefix(3).joined(separator: " ")
  }

  /// `VmRSS` of another process (the soak's agentcubed), in KiB.
  static func residentKiB(pid: Int32) -> Int? { statusField("VmRSS:", of: "\(pid)") }

  /// `RssAnon` of another process (its heap, without mapped files), in KiB.
  static func anonymousResidentKiB(pid: Int32) -> Int? { statusField("RssAnon:", of: "\(pid)") }

  /// Open file descriptors of another process (entries of /proc/<pid>/fd), or `nil` when unreadable.
  static func openFiles(pid: Int32) -> Int? {
    guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
    defer { closedir(directory) }
    var count = 0
    while let entry = readdir(directory) {
      if entry.pointee.d_name.0 != 0x2E { count += 1 }  // not "." or ".."
    }
    return count
  }

  /// What each open descriptor of another process refers to (`readlink` of /proc/<pid>/fd/N:
  /// a path, `socket:[inode]`, `anon_inode:[eventfd]`, ...).
  static func openFileTargets(pid: Int32) -> [String] {
    guard let directory = opendir("/proc/\(pid)/fd") else { return [] }
    defer { closedir(directory) }
    var targets: [String] = []
    var link = [CChar](repeating: 0, count: 4096)
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      guard !name.hasPrefix(".") else { continue }
      let count = readlink("/proc/\(pid)/fd/\(name)", &link, link.count - 1)
      if count > 0 { targets.append(String(decoding: link[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }
    return targets
  }

  private static func statusField(_ name: String, of process: String = "self") -> Int? {
    guard let file = fopen("/proc/\(process)/status", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), file) != nil {
      let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      guard text.hasPrefix(name) else { continue }
      // "VmHWM:\t   13620 kB": the only digits are the number.
      return Int(String(text.dropFirst(name.count).filter(\.isNumber)))
    }
    return nil
  }
}
