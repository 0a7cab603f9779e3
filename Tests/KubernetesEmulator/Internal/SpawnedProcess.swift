import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A child process (posix_spawn), its end noticed by a thread of its own blocked in `waitpid`
/// (not Foundation's `Process`, whose one monitoring thread a descriptor-closing child such as
/// OpenSSH can hold up). Output goes to a file; descriptors from 3 up are closed in the child.
final class SpawnedProcess: Sendable {
  let pid: Int32
  private let ended = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

  private init(pid: Int32) { self.pid = pid }

  /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), which Swift's Glibc module does not
  /// import (it is built without `_GNU_SOURCE`), found at run time.
  private static let addCloseFrom:
    (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
      guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
      else { return nil }
      return unsafeBitCast(
        symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

  static func start(_ executable: String, _ arguments: [String], output: String) throws -> SpawnedProcess {
    let descriptor = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    close(descriptor)
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_APPEND, 0)
    posix_spawn_file_actions_addopen(&actions, 2, output, O_WRONLY | O_APPEND, 0)
    _ = addCloseFrom?(&actions, 3)
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
    let words: [String] = [executable] + arguments
    let environment: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"]
    let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: Int32 = 0
    let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
    let process = SpawnedProcess(pid: pid)
    let child = pid
    let waiter = Thread {
      var status: Int32 = 0
      while waitpid(child, &status, 0) < 0 && errno == EINTR {}
      process.finished(status)
    }
    waiter.stackSize = 128 << 10
    waiter.start()
    return process
  }

  private func finished(_ status: Int32) {
    let waiters = ended.withLock { state in
      state.status = status
      defer { state.waiters = [] }
      return state.waiters
    }
    for waiter in waiters { waiter.resume(returning: status) }
  }

  /// Whether it has ended (and been reaped: the pid is no longer ours).
  var hasEnded: Bool { ended.withLock { $0.status != nil } }

  /// Its wait status, once it has ended.
  func status() async -> Int32 {
    await withCheckedContinuation { continuation in
      let status: Int32? = ended.withLock { state in
        if let status = state.status { return status }
        state.waiters.append(continuation)
        return nil
      }
      if let status { continuation.resume(returning: status) }
    }
  }

  /// SIGTERM, then SIGKILL after `grace`; returns once it has ended.
  func stop(grace: Duration = .seconds(3)) async {
    guard !hasEnded else { return }
    kill(pid, SIGTERM)
    await withTaskGroup(of: Void.self) { group in
      group.addTask { _ = await self.status() }
      group.addTask { [pid] in
        guard (try? await Task.sleep(for: grace)) != nil else { return }
        if !self.hasEnded { kill(pid, SIGKILL) }
      }
      await group.next()
      group.cancelAll()
      _ = await self.status()
    }
  }

  /// Runs `executable` to its end; its exit code (-1 for a signal).
  static func run(_ executable: String, _ arguments: [String], output: String) async throws -> Int32 {
    let status = try await start(executable, arguments, output: output).status()
    return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
  }
}
