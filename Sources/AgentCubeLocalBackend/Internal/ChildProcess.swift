import CAgentCubeProcess
import Foundation
import Glibc
import Synchronization

/// What to start: an absolute executable, its argv, a clean environment, where output goes.
struct SpawnRequest: Sendable {
  /// Absolute path of the program (posix_spawn does no PATH search).
  var executable: String
  /// argv, including argv[0].
  var arguments: [String]
  /// `NAME=value` pairs; nothing is inherited from the server.
  var environment: [String]
  /// Working directory of the child, or the server's when `nil`.
  var workingDirectory: String? = nil
  /// File that receives stdout and stderr (appended, created 0600), or `/dev/null` when `nil`.
  var outputPath: String? = nil
  /// Start a new session and process group (POSIX_SPAWN_SETSID).
  var newSession: Bool = false
}

/// How a child ended.
enum ExitStatus: Hashable, Sendable, CustomStringConvertible {
  case exited(Int32)
  case signaled(Int32)

  init(waitStatus status: Int32) {
    // WIFEXITED/WEXITSTATUS/WTERMSIG are macros that Swift does not import.
    self = (status & 0x7f) == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
  }

  var description: String {
    switch self {
    case .exited(let code): "exit status \(code)"
    case .signaled(let signal): "signal \(signal)"
    }
  }
}

/// Starting processes with posix_spawn and collecting them with waitpid.
///
/// Only the pids this module spawned are ever waited for (never `waitpid(-1)`), so other code in
/// the same process keeps its children.
enum ChildProcess {
  /// Starts `request`; the child has stdin on /dev/null, default signal handling, an empty signal
  /// mask and no descriptor of the server's beyond 0, 1 and 2.
  static func spawn(_ request: SpawnRequest) throws -> Int32 {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal: Int32 in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, signal) }
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
    if request.newSession { flags |= CAgentCubeProcess_spawnFlagSetSID() }
    posix_spawnattr_setflags(&attributes, Int16(flags))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if let output = request.outputPath {
      posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
    } else {
      posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    CAgentCubeProcess_addCloseFrom(&actions, 3)
    if let directory = request.workingDirectory { CAgentCubeProcess_addChdir(&actions, directory) }

    let argv = request.arguments.map { strdup($0) } + [nil]
    let envp = request.environment.map { strdup($0) } + [nil]
    defer {
      for pointer in argv + envp { free(pointer) }
    }
    var pid: Int32 = 0
    let result = posix_spawn(&pid, request.executable, &actions, &attributes, argv, envp)
    guard result == 0 else {
      throw LocalBackendError("cannot start \(request.executable): \(String(cString: strerror(result)))")
    }
    return pid
  }

  /// Collects `pid` if it has ended: its status, or `nil` while it runs or when it is not (or no
  /// longer) a child of this process.
  static func reap(_ pid: Int32) -> ExitStatus? {
    var status: Int32 = 0
    while true {
      let result = waitpid(pid, &status, WNOHANG)
      if result == pid { return ExitStatus(waitStatus: status) }
      if result < 0 && errno == EINTR { continue }
      return nil
    }
  }

  /// Runs `request` to its end and returns how it ended; kills it when `timeout` passes.
  ///
  /// A thread of its own waits for the child (no polling: the end is seen at once). It first
  /// waits without collecting (`WNOWAIT`), so that the pid cannot be reused while the timeout may
  /// still signal it, then marks the child ended and collects it under one lock.
  static func run(_ request: SpawnRequest, timeout: Duration) async throws -> ExitStatus {
    let pid = try spawn(request)
    let child = WaitedChild(pid: pid)
    let timer = Task {
      try await Task.sleep(for: timeout)
      child.killUnlessEnded()
    }
    let status = await withCheckedContinuation { (continuation: CheckedContinuation<ExitStatus, Never>) in
      let waiter = Thread { continuation.resume(returning: child.waitAndCollect()) }
      waiter.stackSize = 128 << 10
      waiter.start()
    }
    timer.cancel()
    if child.wasKilled {
      try Task.checkCancellation()
      throw LocalBackendError("\(request.executable) did not finish within \(timeout)")
    }
    return status
  }
}

/// A child that one thread waits for and a timeout may kill, never after it has been collected.
private final class WaitedChild: Sendable {
  let pid: Int32
  private let state = Mutex((ended: false, killed: false))

  init(pid: Int32) { self.pid = pid }

  var wasKilled: Bool { state.withLock { $0.killed } }

  func killUnlessEnded() {
    state.withLock { state in
      guard !state.ended else { return }
      state.killed = true
      kill(pid, SIGKILL)
    }
  }

  /// Blocks until the child has ended, then collects it.
  func waitAndCollect() -> ExitStatus {
    var info = siginfo_t()
    while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
    return state.withLock { state in
      state.ended = true
      var status: Int32 = 0
      while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
      return ExitStatus(waitStatus: status)
    }
  }
}
