import Foundation

/// Blocking system calls (copying a workspace image, attaching and mounting a loop device) run on a
/// thread of their own, so that they never hold one of the few threads Swift concurrency shares
/// among every task of the server: several creates at once must not stall every other call.
enum BlockingWork {
  /// Runs `work` on a new thread and returns what it returned or throws what it threw.
  static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      let thread = Thread { continuation.resume(with: Result { try work() }) }
      thread.stackSize = 512 << 10
      thread.start()
    }
  }
}
