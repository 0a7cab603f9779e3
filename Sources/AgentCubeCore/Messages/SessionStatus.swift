/// The life-cycle state of a session.
public enum SessionStatus: Int, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
  /// Unknown to this version (a newer peer's value).
  case unspecified = 0
  /// Created, sandbox starting.
  case pending = 1
  /// The sandbox serves.
  case running = 2
  /// The sandbox failed to start or died.
  case failed = 3
  /// Being shut down.
  case terminating = 4
  /// Gone.
  case terminated = 5

  public var description: String {
    switch self {
    case .unspecified: "unspecified"
    case .pending: "pending"
    case .running: "running"
    case .failed: "failed"
    case .terminating: "terminating"
    case .terminated: "terminated"
    }
  }
}
