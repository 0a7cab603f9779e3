import Foundation

/// Times and durations as the CLI shows them.
enum TimeFormat {
  /// RFC 3339 in UTC, e.g. `2025-06-01T10:00:00Z`; `nil` for 0, which means unset.
  static func rfc3339(ms: Int64) -> String? {
    guard ms != 0 else { return nil }
    return date(ms: ms).formatted(.iso8601)
  }

  /// How long until `ms`, e.g. `55m`, or `expired` once past; `-` when unset.
  static func remaining(until ms: Int64, now: Date) -> String {
    guard ms != 0 else { return "-" }
    let seconds = Int64(date(ms: ms).timeIntervalSince(now).rounded(.down))
    return seconds > 0 ? duration(seconds: seconds) : "expired"
  }

  /// How long ago `ms` was, e.g. `5m ago`; `-` when unset.
  static func ago(_ ms: Int64, now: Date) -> String {
    guard ms != 0 else { return "-" }
    return duration(seconds: Int64(now.timeIntervalSince(date(ms: ms)).rounded(.down))) + " ago"
  }

  /// A duration in its two largest units, e.g. `45s`, `1h5m`, `2d3h`; negative counts as 0.
  static func duration(seconds: Int64) -> String {
    let seconds = max(0, seconds)
    let units: [(name: String, size: Int64)] = [("d", 86_400), ("h", 3_600), ("m", 60)]
    guard let index = units.firstIndex(where: { seconds >= $0.size }) else { return "\(seconds)s" }
    let major = units[index]
    let minor = index + 1 < units.count ? units[index + 1] : (name: "s", size: 1)
    let minorCount = seconds % major.size / minor.size
    return "\(seconds / major.size)\(major.name)" + (minorCount == 0 ? "" : "\(minorCount)\(minor.name)")
  }

  private static func date(ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
}
