import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
  import Glibc
#endif

/// A helper process of the benchmark (a relay, or one run of the C source), spawned with
/// posix_spawn and waited for with a blocking waitpid(2) on a thread of its own, so that waiting
/// costs no CPU (Foundation's `Process.waitUntilExit` spins here, which would skew every number).
final class ChildProcess: Sendable {
  let pid: Int32
  private let output: Int32

  /// Starts `arguments[0]` (an absolute path) with the rest as its arguments; stdout is captured,
  /// stderr goes to ours. The child gets an empty signal mask and default signal actions: a Swift
  /// process's threads block signals, and a child would inherit that (and ignore SIGTERM).
  init(_ arguments: [String]) throws {
    var pipe: [Int32] = [-1, -1]
    guard Glibc.pipe(&pipe) == 0 else { throw BenchmarkError("pipe failed: \(errno)") }
    // Close-on-exec: the write end reaches the child only as its stdout (dup2 clears the flag).
    for end in pipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGPIPE, SIGTERM, SIGINT, SIGCHLD] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
    close(pipe[1])
    guard result == 0 else {
      close(pipe[0])
      throw BenchmarkError("cannot start \(arguments[0]): error \(result)")
    }
    self.pid = pid
    self.output = pipe[0]
  }

  /// Waits for the process to exit and returns what it printed; throws unless it exited with 0.
  func finish() async throws -> String {
    let pid = pid
    let output = output
    let (status, text) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, String), Never>) in
      Thread.detachNewThread {
        // Reads until the child closes stdout (it exits), then reaps it: both block, neither spins.
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
          let count = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
          if count > 0 { bytes += chunk[0..<count] } else if count < 0 && errno == EINTR { continue } else { break }
        }
        close(output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        continuation.resume(returning: (status, String(decoding: bytes, as: UTF8.self)))
      }
    }
    // WIFEXITED and WEXITSTATUS, spelled out: the macros are not imported.
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
      throw BenchmarkError("\(pid) ended with status \(status): \(text)")
    }
    return text
  }

  /// Stops a long-running helper (SIGTERM) and reaps it.
  func stop() async {
    kill(pid, SIGTERM)
    _ = try? await finish()
  }

  /// Waits until something accepts TCP connections on `host:port` (at most `timeout`).
  static func waitUntilListening(host: String, port: Int, timeout: Duration = .seconds(5)) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
      do {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(
          host: host, port: port
        ).get()
        try await channel.close()
        return
      } catch {
        guard ContinuousClock.now < deadline else { throw BenchmarkError("nothing listens on \(host):\(port)") }
        try await Task.sleep(for: .milliseconds(20))
      }
    }
  }
}

struct BenchmarkError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
