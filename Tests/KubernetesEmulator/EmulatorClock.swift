import Foundation
import Synchronization

/// The emulator's wall clock (creation timestamps, `shutdownTime`): the system's, or a manual one
/// tests move.
///
/// ```swift
/// let clock = EmulatorClock(manual: Date())
/// clock.advance(by: .seconds(3600))
/// await emulator.controller.tick()   // expired sandboxes end now
/// ```
public final class EmulatorClock: Sendable {
  private let manual: Mutex<Date?>
  private let source: (@Sendable () -> Date)?

  /// The system clock.
  public init() {
    manual = Mutex(nil)
    source = nil
  }

  /// A clock standing at `start` until moved.
  public init(manual start: Date) {
    manual = Mutex(start)
    source = nil
  }

  /// A clock that reads `source`: the cluster then shares a test's clock with the code under test,
  /// as a real cluster and server share the time of day.
  public init(reading source: @escaping @Sendable () -> Date) {
    manual = Mutex(nil)
    self.source = source
  }

  public var now: Date { source?() ?? manual.withLock { $0 } ?? Date() }

  /// Moves a manual clock on (a system or read clock ignores it).
  public func advance(by duration: Duration) {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    manual.withLock { $0 = $0?.addingTimeInterval(seconds) }
  }

  /// Sets a manual clock.
  public func set(_ date: Date) { manual.withLock { if $0 != nil { $0 = date } } }
}
