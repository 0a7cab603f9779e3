import Glibc

/// The daemon's descriptor limit (`RLIMIT_NOFILE`) and the connections it leaves room for.
///
/// At the limit, accept fails with `EMFILE` and NIO retries a second later: new connections then
/// wait unanswered in the listen backlog, Health included. The connection limit is kept below
/// the descriptor limit instead, so that a connection over it is accepted and refused with the
/// documented GOAWAY, and the backend still has descriptors for its files and child processes.
enum DescriptorLimit {
  /// Descriptors kept for all but client connections: listeners, event loops, the backend's files
  /// and child processes, and connections being refused (each held for up to a second).
  static let reserve = 256

  /// Raises the soft limit to the hard limit (every connection and tunnel holds descriptors);
  /// the soft limit in force afterwards.
  static func raise() -> Int {
    var files = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &files) == 0 else { return Int.max }
    if files.rlim_cur < files.rlim_max {
      var raised = files
      raised.rlim_cur = files.rlim_max
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { files = raised }
    }
    return Int(clamping: files.rlim_cur)
  }

  /// Connections that fit in `descriptors`: each may become a tunnel, which holds two (the
  /// client's connection and the sandbox's), after the ``reserve``.
  static func connectionBudget(descriptors: Int) -> Int {
    max(1, (descriptors - reserve) / 2)
  }
}
