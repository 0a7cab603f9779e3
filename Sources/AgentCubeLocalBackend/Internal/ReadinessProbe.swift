import AgentCubeCore
import Glibc

/// One look at whether a sandbox serves: a TCP connect inside its network, and for SSH the server's identification
/// line (`SSH-2.0-...`), which proves that sshd accepted, forked and runs its protocol.
///
/// Non-blocking sockets and short sleeps between looks: no thread is ever blocked.
enum ReadinessProbe {
  enum Outcome: Equatable {
    /// The sandbox serves.
    case ready
    /// Not (yet): refused, or no banner in time.
    case notReady
  }

  /// Connects to `port` inside the sandbox's network (see ``NetworkNamespaceDialer``) and, for
  /// SSH, waits for the banner.
  static func check(
    process: ProcessIdentity, port: UInt16, readiness: LocalImage.Readiness, timeout: Duration, rootless: Bool
  ) async -> Outcome {
    let deadline = ContinuousClock.now + timeout
    guard
      let fd = try? await NetworkNamespaceDialer.connect(to: process, port: port, timeout: timeout, rootless: rootless)
    else {
      return .notReady
    }
    defer { close(fd) }
    switch readiness.kind {
    case .tcp:
      return .ready
    case .sshBanner:
      return await readBanner(fd, until: deadline) ? .ready : .notReady
    }
  }

  /// Reads lines until one starts with `SSH-` (RFC 4253 allows other lines before it), at most 4 KiB.
  private static func readBanner(_ fd: Int32, until deadline: ContinuousClock.Instant) async -> Bool {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 512)
    while received.count < 4096 {
      guard await waitFor(POLLIN, on: fd, until: deadline) else { return false }
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
      guard n > 0 else { return false }
      received.append(contentsOf: buffer[..<n])
      for line in received.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
        if line.starts(with: Array("SSH-2.0-".utf8)) || line.starts(with: Array("SSH-1.99-".utf8)) { return true }
      }
    }
    return false
  }

  /// Polls `fd` for `events` without blocking, sleeping briefly between looks, until `deadline`.
  private static func waitFor(_ events: Int32, on fd: Int32, until deadline: ContinuousClock.Instant) async -> Bool {
    var pause = Duration.milliseconds(1)
    while true {
      var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
      let result = poll(&entry, 1, 0)
      if result > 0 { return entry.revents & Int16(events) != 0 || entry.revents & Int16(POLLHUP | POLLERR) != 0 }
      if result < 0 && errno != EINTR { return false }
      guard ContinuousClock.now < deadline, !Task.isCancelled else { return false }
      try? await Task.sleep(for: pause)
      pause = min(pause * 2, .milliseconds(2))
    }
  }
}
