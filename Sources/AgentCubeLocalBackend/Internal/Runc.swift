import Foundation
import Glibc

/// Drives runc, the reference OCI runtime: `run --detach`, `state`, `delete --force`.
///
/// Every call is a short-lived child process with a timeout; runc keeps its own state under
/// `root` (one per server state directory), so servers never see each other's containers.
struct Runc: Sendable {
  let executable: String
  let root: String

  static let defaultPaths = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"]

  /// runc's state of a container, as `runc state` prints it.
  struct State: Decodable, Sendable {
    var id: String
    var pid: Int32
    var status: String
  }

  /// Starts the container `id` from `bundle` and returns its init's pid. Its stdout and stderr go to `output`.
  func run(id: String, bundle: String, pidFile: String, output: String) async throws -> Int32 {
    let status = try await ChildProcess.run(
      request(["run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id], output: output), timeout: .seconds(30))
    guard status == .exited(0) else {
      throw LocalBackendError("runc could not start the sandbox (\(status))")
    }
    guard let bytes = FileSystem.read(pidFile, limit: 64),
      let pid = Int32(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0
    else {
      throw LocalBackendError("runc started the sandbox but wrote no pid")
    }
    return pid
  }

  /// The container's state, or `nil` when runc does not know it.
  func state(id: String, scratch: String) async -> State? {
    unlink(scratch)
    defer { unlink(scratch) }
    guard let status = try? await ChildProcess.run(request(["state", id], output: scratch), timeout: .seconds(10)),
      status == .exited(0), let bytes = FileSystem.read(scratch, limit: 1 << 16)
    else { return nil }
    // runc logs warnings on stderr, which shares the file; the JSON object is the rest.
    guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else { return nil }
    return try? JSONDecoder().decode(State.self, from: Data(bytes[start...]))
  }

  /// Kills every process of the container (SIGKILL; its pid namespace goes with its init) and
  /// removes it and its cgroups. A container runc does not know is not an error.
  func delete(id: String, output: String) async throws {
    let status = try await ChildProcess.run(request(["delete", "--force", id], output: output), timeout: .seconds(30))
    guard status == .exited(0) || !FileSystem.exists(root + "/" + id) else {
      throw LocalBackendError("runc could not delete the sandbox (\(status))")
    }
  }

  /// The version line runc prints, e.g. `runc version 1.1.5+ds1`, or `nil` when it does not run.
  func version(scratch: String) async -> String? {
    unlink(scratch)
    defer { unlink(scratch) }
    guard let status = try? await ChildProcess.run(request(["--version"], output: scratch), timeout: .seconds(10)),
      status == .exited(0), let bytes = FileSystem.read(scratch, limit: 4096)
    else { return nil }
    return String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
  }

  private func request(_ arguments: [String], output: String) -> SpawnRequest {
    SpawnRequest(
      executable: executable, arguments: [executable, "--root", root] + arguments,
      environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], workingDirectory: "/", outputPath: output)
  }
}
