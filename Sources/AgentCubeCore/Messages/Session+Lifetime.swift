extension Session {
  /// Past its TTL at `now` (Unix ms).
  public func hasExpired(at now: Int64) -> Bool { now >= expiresAtMs }

  /// Without activity for its idle timeout at `now` (Unix ms); never when it has none.
  public func isIdle(at now: Int64) -> Bool {
    idleTimeoutSeconds > 0 && now - lastActivityAtMs >= Int64(idleTimeoutSeconds) * 1000
  }
}
