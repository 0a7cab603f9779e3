public import AgentCubeCore
import Synchronization

/// A ``AgentCubeCore/WallClock`` that stands still until a test moves it.
public final class ManualWallClock: Sendable {
  private let milliseconds: Mutex<Int64>

  /// Starts at the real time of day, so that times look like today's.
  public init(startingAt start: Int64 = wallClockMilliseconds()) { milliseconds = Mutex(start) }

  /// The clock to hand to the code under test.
  public var clock: WallClock { WallClock { [self] in milliseconds.withLock { $0 } } }

  /// Unix time in milliseconds now.
  public var now: Int64 { milliseconds.withLock { $0 } }

  /// Moves the clock forward by `seconds`.
  public func advance(seconds: Int64) { milliseconds.withLock { $0 += seconds * 1000 } }
}
