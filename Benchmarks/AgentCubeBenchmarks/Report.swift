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

  /// With several authenticators: per method and concurrency, the median calls/s and CPU µs/call
  /// of each over the rounds, and each against the first authenticator.
  var comparison: String? {
    let authenticators = rows.reduce(into: [BenchmarkAuthenticator]()) { if !$0.contains($1.authenticator) { $0.append($1.authenticator) } }
    guard authenticators.count > 1, let baseline = authenticators.first else { return nil }
    var lines = [
      "| method | in flight | authenticator | rounds | median calls/s | vs \(baseline.rawValue) | median CPU µs/call | vs \(baseline.rawValue) |",
      "|---|--:|---|--:|--:|--:|--:|--:|",
    ]
    var configurations: [(BenchmarkMethod, Int)] = []
    for row in rows where !configurations.contains(where: { $0 == (row.method, row.concurrency) }) {
      configurations.append((row.method, row.concurrency))
    }
    for (method, concurrency) in configurations {
      func medians(_ kind: BenchmarkAuthenticator) -> (rate: Double, cpu: Double, rounds: Int) {
        let measured = rows.filter { $0.method == method && $0.concurrency == concurrency && $0.authenticator == kind }
          .map(\.measurement)
        let rates = measured.map { Double($0.calls) / Swift.max($0.elapsed.microseconds / 1e6, 1e-9) }
        let cpus = measured.map { $0.calls > 0 ? $0.cpu.microseconds / Double($0.calls) : 0 }
        return (Self.median(rates), Self.median(cpus), measured.count)
      }
      let base = medians(baseline)
      for kind in authenticators {
        let this = medians(kind)
        lines.append(
          "| \(method.fullName) | \(concurrency) | \(kind.rawValue) | \(this.rounds) | \(String(format: "%.0f", this.rate)) "
            + "| \(Self.percent(this.rate, base.rate)) | \(String(format: "%.1f", this.cpu)) | \(Self.percent(this.cpu, base.cpu)) |")
      }
    }
    return lines.joined(separator: "\n")
  }

  private static func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
  }

  private static func percent(_ value: Double, _ base: Double) -> String {
    base > 0 ? String(format: "%+.1f %%", (value / base - 1) * 100) : "-"
  }

  private func mebibytes(_ kibibytes: Int?) -> String {
    kibibytes.map { String(format: "%.1f", Double($0) / 1024) } ?? "-"
  }
}
