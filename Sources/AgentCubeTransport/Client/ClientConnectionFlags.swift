import Synchronization

/// Facts the event loop publishes for callers on other threads without a hop.
final class ClientConnectionFlags: Sendable {
  /// Whether new calls may start (no GOAWAY, not closed, not a tunnel).
  let acceptsCalls = Atomic<Bool>(true)
}
