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

  /// The system clock.
  public init() { manual = Mutex(nil) }

  /// A clock standing at `start` until moved.
  public init(manual start: Date) { manual = Mutex(start) }

  public var now: Date { manual.withLock { $0 } ?? Date() }

  /// Moves a manual clock on (a system clock ignores it).
  public func advance(by duration: Duration) {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    manual.withLock { $0 = $0?.addingTimeInterval(seconds) }
  }

  /// Sets a manual clock.
  public func set(_ date: Date) { manual.withLock { if $0 != nil { $0 = date } } }
}
