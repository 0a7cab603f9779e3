import Glibc

/// A process named by its pid and its start time, so that a recycled pid is never mistaken for it.
///
/// The start time is field 22 of `/proc/<pid>/stat` (clock ticks since boot): a new process with
/// the same pid has a later one.
struct ProcessIdentity: Hashable, Sendable, Codable {
  var pid: Int32
  var startTime: UInt64

  /// The identity of the running process `pid`, or `nil` when there is none.
  static func current(pid: Int32) -> ProcessIdentity? {
    ProcessStat.read(pid: pid).map { ProcessIdentity(pid: pid, startTime: $0.startTime) }
  }

  /// Whether this very process still runs (a zombie does not).
  var isAlive: Bool {
    guard let stat = ProcessStat.read(pid: pid) else { return false }
    return stat.startTime == startTime && stat.state != "Z"
  }

  /// Whether no process at all has this pid any more (not even a recycled one or a zombie).
  var pidIsFree: Bool { kill(pid, 0) != 0 && errno == ESRCH }
}

/// The fields of `/proc/<pid>/stat` that the backend reads.
struct ProcessStat: Hashable, Sendable {
  /// Field 3: R, S, D, Z, T, ...
  var state: Character
  /// Field 5: the process group.
  var processGroup: Int32
  /// Field 22: start time in clock ticks after boot.
  var startTime: UInt64

  static func read(pid: Int32) -> ProcessStat? {
    guard let bytes = FileSystem.read("/proc/\(pid)/stat", limit: 4096) else { return nil }
    return parse(bytes)
  }

  /// Parses a stat line; the command name (field 2) may hold spaces and parentheses, so the
  /// fields are counted after its last `)`.
  static func parse(_ bytes: [UInt8]) -> ProcessStat? {
    guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
    let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
    // fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
    guard fields.count > 19, let state = fields[0].first,
      let group = Int32(String(decoding: fields[2], as: UTF8.self)),
      let start = UInt64(String(decoding: fields[19], as: UTF8.self))
    else { return nil }
    return ProcessStat(state: Character(Unicode.Scalar(state)), processGroup: group, startTime: start)
  }
}

/// A process group: a sandbox is started in its own session, so its leader's pid names the group.
struct ProcessGroup: Hashable, Sendable {
  var id: Int32

  /// Sends `signal` to every process in the group; a missing group is not an error.
  func send(_ signal: Int32) { kill(-id, signal) }

  /// Whether any process of the group still runs (zombies do not count).
  var hasLiveMembers: Bool {
    if kill(-id, 0) != 0 && errno == ESRCH { return false }
    // kill(2) counts zombies; look for a member that is not one.
    for name in FileSystem.list("/proc") ?? [] {
      guard let pid = Int32(name), let stat = ProcessStat.read(pid: pid) else { continue }
      if stat.processGroup == id && stat.state != "Z" { return true }
    }
    return false
  }
}
