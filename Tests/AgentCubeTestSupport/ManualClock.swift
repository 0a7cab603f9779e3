public import AgentCubeServer
import Synchronization

/// A ``MonotonicClock`` that stands still until a test moves it.
public final class ManualClock: Sendable {
  private let start = ContinuousClock.now
  private let offset = Mutex(Duration.zero)

  public init() {}

  /// The clock to hand to the code under test.
  public var clock: MonotonicClock {
    MonotonicClock { [self] in start + offset.withLock { $0 } }
  }

  /// Moves the clock forward by `duration`.
  public func advance(by duration: Duration) { offset.withLock { $0 += duration } }
}
