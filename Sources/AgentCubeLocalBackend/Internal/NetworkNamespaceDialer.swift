import AgentCubeCore
import CAgentCubeProcess
import Foundation
import Glibc

/// Connects to a port of a sandbox from inside its private network.
///
/// The sandbox's network namespace has only its own loopback: nothing on the host can route to
/// it. A short-lived thread joins the namespace (`setns` changes only that thread), creates the
/// socket there and connects to `127.0.0.1:port`; the socket stays in the sandbox's network when
/// the thread ends, and the server uses it like any other connected descriptor.
enum NetworkNamespaceDialer {
  /// A connected non-blocking descriptor to `127.0.0.1:port` in `process`'s network namespace.
  ///
  /// - Throws: `errno` values as ``DialError``: ECONNREFUSED when nothing listens, ETIMEDOUT,
  ///   ESRCH when the sandbox is gone.
  ///
  /// A server without root (rootless sandboxes) may only join the network namespace from inside the
  /// sandbox's user namespace, which a multi-threaded process cannot enter: a forked child does both
  /// and passes the descriptor back.
  static func connect(to process: ProcessIdentity, port: UInt16, timeout: Duration, rootless: Bool = false)
    async throws(DialError) -> Int32
  {
    let namespace = open("/proc/\(process.pid)/ns/net", O_RDONLY | O_CLOEXEC)
    guard namespace >= 0 else { throw DialError(code: ESRCH) }
    let userNamespace = rootless ? open("/proc/\(process.pid)/ns/user", O_RDONLY | O_CLOEXEC) : -1
    defer { if userNamespace >= 0 { close(userNamespace) } }
    guard !rootless || userNamespace >= 0 else {
      close(namespace)
      throw DialError(code: ESRCH)
    }
    // Opened first, checked after: the descriptor now names this process's namespace for good,
    // so a pid recycled in between is caught here.
    guard process.isAlive else {
      close(namespace)
      throw DialError(code: ESRCH)
    }
    let milliseconds = Int32(clamping: max(1, timeout.milliseconds))
    let result: Int32 = await BlockingWork.run(stackSize: 256 << 10) {
      rootless
        ? CAgentCubeProcess_connectInNamespacesByFork(userNamespace, namespace, port, milliseconds)
        : CAgentCubeProcess_connectInNetworkNamespace(namespace, port, milliseconds)
    }
    close(namespace)
    guard result >= 0 else { throw DialError(code: -result) }
    return result
  }

  struct DialError: Error, CustomStringConvertible {
    var code: Int32
    var description: String { String(cString: strerror(code)) }
  }
}
