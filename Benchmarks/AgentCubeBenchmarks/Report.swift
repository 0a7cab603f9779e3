import Foundation

/// The Markdown table of a run.
struct Report {
  struct Row {
    var method: BenchmarkMethod
    var concurrency: Int
    var authenticator: BenchmarkAuthenticator
    var measurement: LoadRunner.Measurement
    /// RSS after the row, its connection closed and its samples freed (and malloc trimmed).
    var residentAfterKiB: Int?
  }

  var rows: [Row]
  /// RSS once the server was listening, before any call.
  var idleResidentKiB: Int?
  var stop: String
  var warmup: Double
  /// /proc/loadavg before the first row and after the last: other work on the machine shows here.
  var loadBefore: String?
  var loadAfter: String?

  var markdown: String {
    var lines = [
      "| method | in flight | authenticator | calls | seconds | calls/s | p50 µs | p90 µs | p99 µs | max µs | CPU µs/call "
        + "| peak RSS MiB | RSS after MiB | others' CPU |",
      "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows {
      let m = row.measurement
      let seconds = m.elapsed.microseconds / 1e6
      let rate = seconds > 0 ? Double(m.calls) / seconds : 0
      func us(_ duration: Duration?) -> String { duration.map { String(format: "%.0f", $0.microseconds) } ?? "-" }
      let others = m.otherCPU.map { String(format: "%.2f", $0.microseconds / 1e6 / Swift.max(seconds, 1e-9)) } ?? "-"
      let cpuPerCall = m.calls > 0 ? String(format: "%.1f", m.cpu.microseconds / Double(m.calls)) : "-"
      lines.append(
        "| \(row.method.fullName) | \(row.concurrency) | \(row.authenticator.rawValue) | \(m.calls) | \(String(format: "%.2f", seconds)) "
          + "| \(String(format: "%.0f", rate)) | \(us(m.latencies?.p50)) | \(us(m.latencies?.p90)) "
          + "| \(us(m.latencies?.p99)) | \(us(m.latencies?.max)) | \(cpuPerCall) | \(mebibytes(m.peakResidentKiB)) "
          + "| \(mebibytes(row.residentAfterKiB)) | \(others) |"
      )
    }
    lines.append("")
    lines.append(
      "Measured phase: \(stop) per row after \(warmup) s of warm-up; one connection per row. "
        + "RSS once the server listened, before any call: \(mebibytes(idleResidentKiB)) MiB. "
        + "Peak RSS is the whole process (server and client), reset before each row (after malloc_trim), "
        + "and includes the recorded latencies (8 bytes a call); RSS after is once the row's connection is "
        + "closed and its samples freed. CPU µs/call is the process's user+system time over calls. "
        + "Others' CPU is the cores other processes kept busy meanwhile (/proc/stat less our own time). "
        + "Load average (1/5/15 min) before: \(loadBefore ?? "-"), after: \(loadAfter ?? "-").")
    return lines.joined(separator: "\n")
  }

  private func mebibytes(_ kibibytes: Int?) -> String {
    kibibytes.map { String(format: "%.1f", Double($0) / 1024) } ?? "-"
  }
}
