public import Logging
import Synchronization

/// Keeps what a logger logs, for tests of log lines (and that no secret is in them).
public final class LogRecorder: Sendable {
  /// One logged line.
  public struct Entry: Sendable {
    public var level: Logger.Level
    public var message: String
    public var metadata: [String: String]

    /// The line as text: message and every metadata pair.
    public var text: String {
      ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
    }
  }

  private let lines = Mutex<[Entry]>([])

  public init() {}

  /// A logger whose lines (at `level` and above) are kept here.
  public func logger(level: Logger.Level = .info) -> Logger {
    var logger = Logger(label: "recorded") { _ in Handler(recorder: self) }
    logger.logLevel = level
    return logger
  }

  /// Every line so far, oldest first.
  public var entries: [Entry] { lines.withLock { $0 } }

  fileprivate func record(_ entry: Entry) { lines.withLock { $0.append(entry) } }

  private struct Handler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
      let all = metadata.merging(event.metadata ?? [:]) { $1 }
      recorder.record(
        Entry(level: event.level, message: event.message.description, metadata: all.mapValues { "\($0)" }))
    }
  }
}
