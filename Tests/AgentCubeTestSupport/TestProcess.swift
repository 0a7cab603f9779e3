import CAgentCubeProcess
import Foundation
import Glibc
import Synchronization

/// How a process ended.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
  /// It called `exit` with this status.
  case exited(Int32)
  /// A signal ended it.
  case signaled(Int32)

  public var description: String {
    switch self {
    case .exited(let status): "exit status \(status)"
    case .signaled(let signal): "signal \(signal)"
    }
  }
}

/// A finished process: how it ended, what it printed and how long it took.
public struct ProcessResult: Sendable, CustomStringConvertible {
  /// The command line, for messages.
  public var command: String
  public var termination: Termination
  public var stdout: String
  public var stderr: String
  public var duration: Duration
  /// What else a reader of a failure needs, e.g. the server's warnings while the command ran.
  public var context = ""

  /// The exit status, or `nil` when a signal ended the process.
  public var exitCode: Int32? {
    if case .exited(let status) = termination { status } else { nil }
  }

  public var description: String {
    "`\(command)` ended with \(termination) after \(duration)\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)---"
      + (context.isEmpty ? "" : "\n\(context)")
  }
}

/// Thrown when a process does not end in time; it has been killed, and this holds what it printed.
public struct ProcessTimedOut: Error, CustomStringConvertible {
  public var command: String
  public var timeout: Duration
  public var stdout: String
  public var stderr: String

  public var description: String {
    "`\(command)` did not end within \(timeout) and was killed\n--- stdout:\n\(stdout)--- stderr:\n\(stderr)---"
  }
}

/// A program started by a test: stdin on /dev/null, stdout and stderr in files (readable while it
/// runs, and never a full pipe that blocks it), every wait bounded.
///
/// The environment is the test's own without `AGENTCUBE_*` variables (a developer's settings must
/// not leak into a test), plus `environment`. A process still running when this object goes away
/// gets SIGKILL.
///
/// ```swift
/// let result = try await TestProcess.run(try BuiltProducts.executable("agentcube"), ["--help"])
/// #expect(result.exitCode == 0)
/// ```
public final class TestProcess: Sendable {
  /// The command line, for messages.
  public let command: String
  /// The process id.
  public let pid: Int32
  /// Where its stdout and stderr go.
  public let stdoutPath: String
  public let stderrPath: String
  private let started: ContinuousClock.Instant
  private let monitor: Monitor

  private init(
    command: String, pid: Int32, stdoutPath: String, stderrPath: String, started: ContinuousClock.Instant,
    monitor: Monitor
  ) {
    self.command = command
    self.pid = pid
    self.stdoutPath = stdoutPath
    self.stderrPath = stderrPath
    self.started = started
    self.monitor = monitor
  }

  deinit {
    // The last line of defence against a process outliving its test; the monitor tells whether
    // the pid is still ours (it is, until the termination handler has run).
    if !monitor.hasEnded { Glibc.kill(pid, SIGKILL) }
  }

  /// Starts `executable` with `arguments`; output goes to `<outputPrefix>.stdout` and `.stderr`.
  public static func start(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], outputPrefix: String
  ) throws -> TestProcess {
    let command = ([executable] + arguments).map(Self.quoted).joined(separator: " ")
    let stdoutPath = outputPrefix + ".stdout"
    let stderrPath = outputPrefix + ".stderr"
    // Created (0600) and truncated here; the child opens them itself.
    try Self.createOutputFile(stdoutPath).close()
    try Self.createOutputFile(stderrPath).close()

    var inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AGENTCUBE_") }
    inherited.merge(environment) { $1 }
    // posix_spawn and a thread of our own blocked in waitpid, not Foundation's Process: Foundation
    // notices every child's end on one thread, through a socket the child holds, and a child that
    // closes its descriptors at start (OpenSSH's ssh does) makes that thread wait in waitpid until
    // it exits, delaying every other process's end meanwhile.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_APPEND, 0)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_APPEND, 0)
    CAgentCubeProcess_addCloseFrom(&actions, 3)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigfillset(&defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = inherited.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for pointer in argv + envp { free(pointer) }
    }
    let started = ContinuousClock.now
    var pid: Int32 = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw CocoaError(.executableLoad, userInfo: [NSFilePathErrorKey: executable, "errno": result])
    }
    let monitor = Monitor()
    let waiter = Thread { [pid] in
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
      monitor.ended((status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f))
    }
    waiter.stackSize = 128 << 10
    waiter.start()
    return TestProcess(
      command: command, pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath, started: started, monitor: monitor)
  }

  /// Runs `executable` to its end: its result, or ``ProcessTimedOut`` (after killing it) when it
  /// takes longer than `timeout`.
  public static func run(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:],
    timeout: Duration = .seconds(30)
  ) async throws -> ProcessResult {
    let directory = try TemporaryDirectory(prefix: "acube-run")
    defer { directory.remove() }
    let process = try start(executable, arguments, environment: environment, outputPrefix: directory.file("output"))
    return try await process.result(timeout: timeout)
  }

  /// Whether it still runs (has not been collected yet).
  public var isRunning: Bool { !monitor.hasEnded }

  /// When the waiting thread saw it end, or `nil` while it runs.
  public var endedAt: ContinuousClock.Instant? { monitor.endedAt }

  /// How it ended, or `nil` while it runs.
  public var termination: Termination? { monitor.termination }

  /// What it has written to stdout so far.
  public var stdout: String { Self.read(stdoutPath) }

  /// What it has written to stderr so far.
  public var stderr: String { Self.read(stderrPath) }

  /// Waits until it ends; on timeout kills it and throws ``ProcessTimedOut``.
  public func result(timeout: Duration) async throws -> ProcessResult {
    let termination: Termination
    do {
      termination = try await withTimeout(timeout, "`\(command)`") { try await self.monitor.wait() }
    } catch is TimedOut {
      _ = try? await kill(timeout: .seconds(10))
      throw ProcessTimedOut(command: command, timeout: timeout, stdout: stdout, stderr: stderr)
    }
    return ProcessResult(
      command: command, termination: termination, stdout: stdout, stderr: stderr,
      duration: monitor.endedAt.map { $0 - started } ?? (ContinuousClock.now - started))
  }

  /// Sends `signal` (unless it has ended) and waits, bounded, until it ends; on timeout kills it
  /// and throws ``ProcessTimedOut``.
  public func stop(signal: Int32 = SIGTERM, timeout: Duration) async throws -> ProcessResult {
    if !monitor.hasEnded { Glibc.kill(pid, signal) }
    return try await result(timeout: timeout)
  }

  /// SIGKILL, then waits (bounded) until it ends.
  @discardableResult
  public func kill(timeout: Duration = .seconds(10)) async throws -> Termination {
    if !monitor.hasEnded { Glibc.kill(pid, SIGKILL) }
    return try await withTimeout(timeout, "`\(command)` to die after SIGKILL") { try await self.monitor.wait() }
  }

  private static func createOutputFile(_ path: String) throws -> FileHandle {
    guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
      let handle = FileHandle(forWritingAtPath: path)
    else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    return handle
  }

  private static func read(_ path: String) -> String {
    (FileManager.default.contents(atPath: path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
  }

  private static func quoted(_ word: String) -> String {
    word.isEmpty || word.contains(where: { " '\"$\\".contains($0) })
      ? "'" + word.replacing("'", with: "'\\''") + "'" : word
  }
}

/// Serializes the Foundation `Process` spawns left in test support (runc calls), which can leak
/// Foundation's monitoring socket into a concurrently spawned child.
let spawnLock = Mutex(())

/// The state of one process: running (the `Process` kept alive until it ends) or ended, and the
/// tasks waiting for its end.
private final class Monitor: Sendable {
  private struct State {
    var termination: Termination?
    var endedAt: ContinuousClock.Instant?
    var waiters: [Int: CheckedContinuation<Termination, any Error>] = [:]
    var cancelled: Set<Int> = []
    var nextWaiter = 0
  }

  private let state = Mutex(State())

  var hasEnded: Bool { state.withLock { $0.termination != nil } }
  var termination: Termination? { state.withLock { $0.termination } }
  var endedAt: ContinuousClock.Instant? { state.withLock { $0.endedAt } }

  func ended(_ termination: Termination) {
    let waiters = state.withLock { state in
      state.termination = termination
      state.endedAt = .now
      defer { state.waiters = [:] }
      return Array(state.waiters.values)
    }
    for waiter in waiters { waiter.resume(returning: termination) }
  }

  /// Waits until the process ends; throws `CancellationError` when the task is cancelled.
  func wait() async throws -> Termination {
    let id = state.withLock { state in
      state.nextWaiter += 1
      return state.nextWaiter
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        enum Outcome {
          case ended(Termination)
          case cancelled
          case waiting
        }
        let outcome = state.withLock { state -> Outcome in
          if let termination = state.termination { return .ended(termination) }
          if state.cancelled.remove(id) != nil { return .cancelled }
          state.waiters[id] = continuation
          return .waiting
        }
        switch outcome {
        case .ended(let termination): continuation.resume(returning: termination)
        case .cancelled: continuation.resume(throwing: CancellationError())
        case .waiting: break
        }
      }
    } onCancel: {
      let waiter = state.withLock { state in
        let waiter = state.waiters.removeValue(forKey: id)
        if waiter == nil { state.cancelled.insert(id) }
        return waiter
      }
      waiter?.resume(throwing: CancellationError())
    }
  }
}
