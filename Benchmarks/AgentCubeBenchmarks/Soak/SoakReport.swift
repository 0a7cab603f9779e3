import AgentCube
import Foundation

/// The soak's tables and its verdict against the targets (docs/benchmarks.md, "Load and soak").
struct SoakReport {
  var soak: Soak
  /// The server once it answered Health, before any session.
  var idle: ServerSampler.Sample
  var beforeLoad: ServerSampler.Sample
  var afterLoad: ServerSampler.Sample
  var afterCleanup: ServerSampler.Sample
  var samples: [ServerSampler.Sample] = []
  /// Descriptors open once the pool was deleted that were not before any session, by kind
  /// (sockets and anonymous inodes by their kind, files by path).
  var filesLeftOpen: [String] = []
  /// Seconds from the load's end until the descriptors were back to their level before it.
  var settleSeconds = 0.0
  var parts = SoakRun.Parts()
  var loadStartSeconds = 0.0
  var loadSeconds = 0.0
  /// /proc/loadavg before the pool was created and after the load: other work on the machine.
  var loadAverages: (before: String?, after: String?) = (nil, nil)

  init(soak: Soak, idle: ServerSampler.Sample) {
    self.soak = soak
    self.idle = idle
    beforeLoad = idle
    afterLoad = idle
    afterCleanup = idle
  }

  /// Every tally of the run: well-behaved calls first, then the faults' own failures.
  private var tallies: [SoakTally] {
    [parts.clients, parts.churn, parts.tunnels.tally, parts.vanishing.tally, parts.halfOpen.tally]
      + parts.slowReaders.map(\.tally) + parts.slowTunnels.map(\.tally)
  }

  var unexpected: Int { tallies.map(\.unexpected).reduce(0, +) }

  /// The means of the first and the last third of the load's samples after the warm-up.
  private func thirds(_ value: (ServerSampler.Sample) -> Int) -> (first: Double, last: Double)? {
    let steady = samples.filter { $0.phase == "load" && $0.seconds >= loadStartSeconds + soak.warmup }
    guard steady.count >= 3 else { return nil }
    let third = steady.count / 3
    func mean(_ part: ArraySlice<ServerSampler.Sample>) -> Double {
      Double(part.map(value).reduce(0, +)) / Double(part.count)
    }
    return (mean(steady.prefix(third)), mean(steady.suffix(third)))
  }

  private var rssFlat: Bool {
    guard let rss = thirds(\.residentKiB) else { return false }
    return rss.last / 1024 <= rss.first / 1024 * (1 + soak.rssTolerancePercent / 100) + soak.rssToleranceMib
  }

  private var fdsFlat: Bool {
    guard let fds = thirds(\.openFiles) else { return false }
    return fds.last <= fds.first + Double(soak.fdTolerance)
  }

  private var fdsBack: Bool { afterLoad.openFiles <= beforeLoad.openFiles && afterCleanup.openFiles <= idle.openFiles }

  var passed: Bool { unexpected == 0 && rssFlat && fdsFlat && fdsBack }

  func markdown(daemonEnd: String) -> String {
    var lines: [String] = []
    let seconds = max(loadSeconds, 1e-9)
    lines += [
      "\(soak.clients) clients × \(soak.duration) s + \(soak.tunnels) tunnels; \(soak.poolSessions) pool sessions, "
        + "\(soak.churnWorkers) churn workers; faults: \(soak.vanishPerSecond) vanishing clients/s, \(soak.halfOpen) "
        + "half-open at a time, \(soak.slowReaders) slow call readers, \(soak.slowTunnels) slow tunnel readers. "
        + "Load phase \(seconds.fixed(1)) s (until every part had ended: half-open connections held at the deadline end within the server's timeouts). "
        + "Load average (1/5/15 min) before: \(loadAverages.before ?? "-"), after: \(loadAverages.after ?? "-").",
      "",
      "| calls | count | calls/s | p50 ms | p99 ms | max ms | status codes | unexpected |",
      "|---|--:|--:|--:|--:|--:|---|--:|",
    ]
    var merged = SoakTally()
    for tally in [parts.clients, parts.churn, parts.tunnels.tally] { merged.merge(tally) }
    var totalCalls = 0
    for method in merged.latencies.keys.sorted() {
      var samples = merged.latencies[method] ?? []
      guard let summary = LatencySummary(sorting: &samples) else { continue }
      let outcomes = merged.outcomes.filter { $0.key.method == method }
      let codes = outcomes.sorted { $0.key.code.rawValue < $1.key.code.rawValue }
        .map { "\($0.key.code) \($0.value)\($0.key.expected ? "" : " (unexpected)")" }.joined(separator: ", ")
      let bad = outcomes.filter { !$0.key.expected }.values.reduce(0, +)
      if method != "tunnel round trip" { totalCalls += summary.count }
      lines.append(
        "| \(method) | \(summary.count) | \((Double(summary.count) / seconds).fixed(0)) | \(ms(summary.p50)) "
          + "| \(ms(summary.p99)) | \(ms(summary.max)) | \(codes) | \(bad) |")
    }
    lines.append(
      "| **all calls** | \(totalCalls) | \((Double(totalCalls) / seconds).fixed(0)) | | | | | \(merged.unexpected) |")
    lines.append("")
    lines += tunnelLines + [""] + faultLines + [""] + samplesLines + [""] + verdictLines(daemonEnd: daemonEnd)
    let failures = tallies.flatMap(\.unexpectedSamples)
    if !failures.isEmpty {
      lines += ["", "First unexpected failures:"] + failures.prefix(20).map { "- \($0)" }
    }
    return lines.joined(separator: "\n")
  }

  private var tunnelLines: [String] {
    let bytes = parts.tunnels.bytesPerTunnel.sorted()
    guard !bytes.isEmpty else { return ["No tunnels."] }
    let seconds = max(parts.tunnels.seconds, 1e-9)
    func rate(_ value: Int) -> String { (Double(value) / seconds / 1_048_576).fixed(2) }
    let total = bytes.reduce(0, +)
    return [
      "Tunnels: \(bytes.count), \(mib(total)) MiB sent and echoed back checked (\(rate(total)) MiB/s in all); "
        + "per tunnel MiB/s min \(rate(bytes[0])), median \(rate(bytes[bytes.count / 2])), max \(rate(bytes[bytes.count - 1])) "
        + "(paced at \(soak.tunnelRate == 0 ? "no limit" : "\(mib(soak.tunnelRate)) MiB/s"), \(soak.tunnelChunk / 1024) KiB round trips)."
    ]
  }

  private var faultLines: [String] {
    var lines = ["| fault | injected | what the server did | unexpected |", "|---|--:|---|--:|"]
    let vanishing = parts.vanishing
    for kind in VanishingClients.Kind.allCases {
      let bad = vanishing.tally.outcomes.filter { $0.key.method == kind.rawValue }.values.reduce(0, +)
      lines.append(
        "| \(kind.rawValue) | \(vanishing.injected[kind] ?? 0) | (other clients unaffected: see above) | \(bad) |")
    }
    for kind in HalfOpenConnections.Kind.allCases {
      let times = (parts.halfOpen.reclaimSeconds[kind] ?? []).sorted()
      let bad = parts.halfOpen.tally.outcomes.filter { $0.key.method == kind.rawValue }.values.reduce(0, +)
      let closed =
        times.isEmpty
        ? "-"
        : "closed it after \(times[0].fixed(1))–\(times[times.count - 1].fixed(1)) s (median \(times[times.count / 2].fixed(1)))"
      lines.append("| \(kind.rawValue) | \(parts.halfOpen.injected[kind] ?? 0) | \(closed) | \(bad) |")
    }
    for (index, reader) in parts.slowReaders.enumerated() {
      lines.append(
        "| slow reader \(index + 1): ListSessions sent at up to 500/s, answers read at 20/s | \(reader.sent) requests "
          + "| \(reader.read) answers read (\(codes(reader.tally))); \(reader.sent - reader.read) sent beyond them "
          + "| \(reader.tally.unexpected) |")
    }
    for (index, reader) in parts.slowTunnels.enumerated() {
      lines.append(
        "| slow tunnel \(index + 1): writes at will, reads 64 KiB/s | \(mib(reader.sent)) MiB written "
          + "| \(mib(reader.read)) MiB echoed and checked | \(reader.tally.unexpected) |")
    }
    return lines
  }

  private var samplesLines: [String] {
    var lines = [
      "| t s | phase | VmRSS MiB | RssAnon MiB | open fds | calls | calls/s since last |",
      "|--:|---|--:|--:|--:|--:|--:|",
    ]
    var previous: ServerSampler.Sample?
    for sample in samples {
      let rate = previous.map { Double(sample.calls - $0.calls) / max(sample.seconds - $0.seconds, 1e-9) }
      lines.append(
        "| \(sample.seconds.fixed(1)) | \(sample.phase) | \(mib(sample.residentKiB * 1024)) | \(mib(sample.anonymousKiB * 1024)) "
          + "| \(sample.openFiles) | \(sample.calls) | \(rate.map { $0.fixed(0) } ?? "") |")
      previous = sample
    }
    return lines
  }

  private func verdictLines(daemonEnd: String) -> [String] {
    func verdict(_ ok: Bool) -> String { ok ? "**met**" : "**NOT met**" }
    let rss = thirds(\.residentKiB)
    let fds = thirds(\.openFiles)
    return [
      "Verdict (after \(soak.warmup) s of warm-up; first third of the samples against the last):",
      "- unexpected errors: \(unexpected) (target 0): \(verdict(unexpected == 0))",
      "- RSS flat: \(rss.map { "\(mib(Int($0.first * 1024))) → \(mib(Int($0.last * 1024))) MiB" } ?? "too few samples") "
        + "(allowed +\(soak.rssTolerancePercent.fixed(0)) % + \(soak.rssToleranceMib.fixed(0)) MiB): \(verdict(rssFlat))",
      "- descriptors flat: \(fds.map { "\($0.first.fixed(0)) → \($0.last.fixed(0))" } ?? "too few samples") "
        + "(allowed +\(soak.fdTolerance)): \(verdict(fdsFlat))",
      "- descriptors back: \(afterLoad.openFiles) after the load, \(settleSeconds.fixed(1)) s after its end "
        + "(\(beforeLoad.openFiles) before it); \(afterCleanup.openFiles) "
        + "once the pool was deleted (\(idle.openFiles) before any session"
        + (filesLeftOpen.isEmpty ? "" : "; still open: \(filesLeftOpen.joined(separator: ", "))")
        + "): \(verdict(fdsBack))",
      "- daemon stopped with SIGTERM: \(daemonEnd)",
    ]
  }

  /// `OK 12, NOT_FOUND 3`: how the calls of `tally` ended.
  private func codes(_ tally: SoakTally) -> String {
    tally.outcomes.sorted { $0.key.code.rawValue < $1.key.code.rawValue }.map { "\($0.key.code) \($0.value)" }
      .joined(separator: ", ")
  }

  private func ms(_ duration: Duration) -> String {
    (duration.microseconds / 1000).fixed(duration < .milliseconds(10) ? 2 : 1)
  }
  private func mib(_ bytes: Int) -> String { (Double(bytes) / 1_048_576).fixed(1) }
}

extension Double {
  /// Fixed-point text with `digits` decimals.
  func fixed(_ digits: Int) -> String { String(format: "%.\(digits)f", self) }
}
