import Glibc
import Logging

/// Whether bubblewrap can isolate sandboxes on this machine, found once when the backend starts.
struct Isolation: Sendable {
  /// Unprivileged sandboxes (user namespace, no capabilities) work: custom images and the
  /// OpenSSH image's per-command sandbox.
  var available: Bool
  /// Privileged sandboxes (root's user, new pid/ipc/uts/cgroup namespaces) work: sshd.
  var privilegedAvailable: Bool
  /// How sandboxes are isolated, or why they are not.
  var message: String

  /// Runs `bwrap` in both shapes around `/bin/true`; the first failure's output explains it.
  static func probe(bubblewrap: String, isRoot: Bool, scratchDirectory: String, logger: Logger) async -> Isolation {
    guard access(bubblewrap, X_OK) == 0 else {
      return Isolation(
        available: false, privilegedAvailable: false,
        message: "not isolated: bubblewrap not found at \(bubblewrap) (install the bubblewrap package)")
    }
    let output = scratchDirectory + "/isolation-probe.log"
    defer { unlink(output) }
    func works(privileged: Bool) async -> String? {
      unlink(output)
      let request = SpawnRequest(
        executable: bubblewrap, arguments: Bubblewrap.probeArguments(executable: bubblewrap, privileged: privileged),
        environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], workingDirectory: "/", outputPath: output)
      do {
        let status = try await ChildProcess.run(request, timeout: .seconds(10))
        if status == .exited(0) { return nil }
        let text = OutputTail.read(output, maxBytes: 512)
        return "bubblewrap failed (\(status))" + (text.isEmpty ? "" : ": \(text)")
      } catch {
        return "bubblewrap failed: \(error)"
      }
    }
    if let failure = await works(privileged: false) {
      return Isolation(available: false, privilegedAvailable: false, message: "not isolated: \(failure)")
    }
    var privileged = false
    if isRoot {
      if let failure = await works(privileged: true) {
        logger.warning("privileged bubblewrap sandboxes do not work", metadata: ["isolation.reason": "\(failure)"])
      } else {
        privileged = true
      }
    }
    return Isolation(
      available: true, privilegedAvailable: privileged,
      message: "bubblewrap: user, pid, ipc, uts and cgroup namespaces; read-only /; private /tmp; "
        + "no capabilities for sandboxed code; one writable workspace per session")
  }
}
