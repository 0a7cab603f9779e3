import Foundation

/// Blocking system calls (copying a workspace image, attaching and mounting a loop device, joining a
/// sandbox's network namespace) run on a thread of their own, so that they never hold one of the
/// few threads Swift concurrency shares among every task of the server: several creates at once
/// must not stall every other call.
enum BlockingWork {
  /// Runs `work` on a new thread and returns what it returned or throws what it threw.
  static func run<T: Sendable, Failure: Error>(
    stackSize: Int = 512 << 10, _ work: @escaping @Sendable () throws(Failure) -> T
  ) async throws(Failure) -> T {
    let result: Result<T, Failure> = await withCheckedContinuation { continuation in
      let thread = Thread {
        do throws(Failure) {
          continuation.resume(returning: .success(try work()))
        } catch {
          continuation.resume(returning: .failure(error))
        }
      }
      thread.stackSize = stackSize
      thread.start()
    }
    return try result.get()
  }
}
