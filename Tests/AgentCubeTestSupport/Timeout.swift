/// Thrown by ``withTimeout(_:_:)`` when the operation did not finish in time.
public struct TimedOut: Error, CustomStringConvertible {
  public var description: String

  public init(description: String) { self.description = description }
}

/// Runs `operation`, failing with ``TimedOut`` after `timeout`; every wait in tests goes through here.
public func withTimeout<T: Sendable>(
  _ timeout: Duration, _ what: String = "operation", _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
  try await withThrowingTaskGroup(of: T.self) { group in
    group.addTask { try await operation() }
    group.addTask {
      try await Task.sleep(for: timeout)
      throw TimedOut(description: "\(what) did not finish within \(timeout)")
    }
    defer { group.cancelAll() }
    return try await group.next()!
  }
}

/// Polls `condition` until it holds or `timeout` passes (for state owned by other processes). The
/// default is a hang guard, not an expectation of speed: a busy CI machine may take many seconds.
public func eventually(
  _ timeout: Duration = .seconds(60), every interval: Duration = .milliseconds(50), _ what: String,
  _ condition: @Sendable () async throws -> Bool
) async throws {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if try await condition() { return }
    try await Task.sleep(for: interval)
  }
  throw TimedOut(description: "\(what) did not happen within \(timeout)")
}

/// ``eventually(_:every:_:_:)`` with the default hang guard and polling interval.
public func eventually(_ what: String, _ condition: @Sendable () async throws -> Bool) async throws {
  try await eventually(.seconds(60), every: .milliseconds(50), what, condition)
}
