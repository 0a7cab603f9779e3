import AgentCubeCore
import Glibc

/// A sandbox's way out for ``SandboxNetwork/egress``: slirp4netns, a process of the server's that
/// gives the sandbox's network namespace a `tap0` (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3)
/// and relays its connections from user space. `--disable-host-loopback` keeps the host's
/// `127.0.0.1` out of reach; `--enable-sandbox` runs it in a mount namespace of its own without
/// capabilities.
struct UserModeNetwork: Sendable {
  let executable: String

  static let defaultPaths = ["/usr/bin/slirp4netns", "/usr/local/bin/slirp4netns"]

  /// The resolver the sandbox uses: slirp4netns forwards DNS sent to 10.0.2.3 to the host's.
  static let resolvConf = "nameserver 10.0.2.3\n"

  /// Starts slirp4netns for the network namespace of `sandbox` and waits (at most `timeout`)
  /// until the sandbox has a default route; returns its identity.
  func start(for sandbox: ProcessIdentity, output: String, timeout: Duration) async throws -> ProcessIdentity {
    let request = SpawnRequest(
      executable: executable,
      arguments: [executable, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "\(sandbox.pid)", "tap0"],
      environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], workingDirectory: "/", outputPath: output, newSession: true)
    let pid = try ChildProcess.spawn(request)
    guard let identity = ProcessIdentity.current(pid: pid) else { throw LocalBackendError("slirp4netns exited at once") }
    let deadline = ContinuousClock.now + timeout
    while !Self.hasDefaultRoute(sandbox) {
      guard identity.isAlive, ContinuousClock.now < deadline else {
        stop(identity)
        throw LocalBackendError("slirp4netns did not configure the sandbox's network in time")
      }
      try? await Task.sleep(for: .milliseconds(2))
    }
    return identity
  }

  /// Ends slirp4netns (SIGKILL: it holds no state worth saving) and collects it.
  func stop(_ process: ProcessIdentity) {
    guard process.isAlive else {
      _ = ChildProcess.reap(process.pid)
      return
    }
    kill(process.pid, SIGKILL)
    for _ in 0..<200 where ChildProcess.reap(process.pid) == nil && process.isAlive { usleep(1000) }
  }

  /// Whether the sandbox's network has a default route (`/proc/<pid>/net/route` is its namespace's table).
  static func hasDefaultRoute(_ sandbox: ProcessIdentity) -> Bool {
    guard let bytes = FileSystem.read("/proc/\(sandbox.pid)/net/route", limit: 64 << 10) else { return false }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().contains { line in
      let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
      return fields.count > 1 && fields[1] == "00000000"
    }
  }
}
