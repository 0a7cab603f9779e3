import AgentCubeCore
import Foundation
import Glibc
import Logging
import Testing

@testable import AgentCubeLocalBackend

/// A temporary state directory of its own, so tests run in parallel.
struct TestContext {
  let directory: String

  init() throws {
    var template = Array("/tmp/aclb-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw LocalBackendError("mkdtemp failed") }
    directory = String(cString: made)
    chmod(directory, 0o711)  // a sandbox's root must reach the state directory
  }

  var stateDirectory: String { directory + "/state" }

  func configuration(images: [String: LocalImage] = [:]) -> LocalBackend.Configuration {
    var configuration = LocalBackend.Configuration.defaults(stateDirectory: stateDirectory)
    configuration.images.merge(images) { $1 }
    configuration.startTimeout = .seconds(60)  // a hang guard: a busy machine is slow (see soon())
    configuration.reapInterval = .milliseconds(100)
    return configuration
  }

  /// Removes the directory, after detaching any workspace still mounted below it.
  func remove() {
    let mounts = String(decoding: FileSystem.read("/proc/self/mountinfo") ?? [], as: UTF8.self)
    for line in mounts.split(separator: "\n") {
      let fields = line.split(separator: " ")
      if fields.count > 4, fields[4].hasPrefix(directory + "/") { umount2(String(fields[4]), Int32(MNT_DETACH)) }
    }
    try? FileSystem.removeTree(directory)
  }
}

let testLogger: Logger = {
  // AGENTCUBE_TEST_LOG=1 prints the backend's log.
  if ProcessInfo.processInfo.environment["AGENTCUBE_TEST_LOG"] != nil {
    var logger = Logger(label: "local-backend-test")
    logger.logLevel = .debug
    return logger
  }
  return Logger(label: "local-backend-test", factory: { _ in SwiftLogNoOpLogHandler() })
}()

let alice = "system:serviceaccount:team:alice"
let bob = "system:serviceaccount:team:bob"

func caller(_ username: String = alice) throws -> Caller {
  Caller(identity: try Identity(username: username), token: BearerToken("test-token"))
}

func makeSpec(
  image: String, creator: String = alice, ttlSeconds: UInt32 = 3600, idleTimeoutSeconds: UInt32 = 0,
  sshPublicKey: String = "", createdAtMs: Int64 = wallClockMilliseconds()
) -> SessionSpec {
  let id = UUID().uuidString.lowercased()
  return SessionSpec(
    id: id, name: "sandbox-" + id.prefix(8), namespace: "team", creator: creator, image: image, ttlSeconds: ttlSeconds,
    idleTimeoutSeconds: idleTimeoutSeconds, sshPublicKey: sshPublicKey, metadata: [KeyValue(key: "k", value: "v")],
    createdAtMs: createdAtMs)
}

/// A tiny TCP server: answers every connection with `hello` and closes it.
let helloImage = LocalImage.command(
  [
    "/usr/bin/python3", "-c",
    """
    import os, socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((os.environ["AGENTCUBE_ADDRESS"], int(os.environ["AGENTCUBE_PORT"])))
    s.listen()
    while True:
        c, _ = s.accept()
        c.sendall(b"hello from ${AGENTCUBE_SESSION_NAME}\\n")
        c.close()
    """,
  ], port: 8080, readiness: .tcp)

/// A create's deadline in tests: the server's own default start timeout, a hang guard (a busy machine is slow).
func soon() -> ContinuousClock.Instant { .now + .seconds(60) }

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = ContinuousClock.now + limit
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}


extension LocalBackend {
  /// The sandbox leader of a session (pid and start time), from the backend's own state.
  func processForTesting(_ id: String) -> ProcessIdentity? { entries[id]?.record.process }

  /// Ends every session this backend holds; tests call it last so no sandbox outlives them.
  func terminateAllForTesting() async {
    for id in Array(entries.keys) { await terminate(id, reason: "test finished") }
  }
}

/// Runs `body` with a backend on a fresh state directory and cleans up after it, whatever happens.
func withBackend(
  images: [String: LocalImage] = ["hello": helloImage],
  configure: (inout LocalBackend.Configuration) -> Void = { _ in },
  _ body: (LocalBackend, TestContext) async throws -> Void
) async throws {
  let context = try TestContext()
  defer { context.remove() }
  var configuration = context.configuration(images: images)
  configure(&configuration)
  let backend = try await LocalBackend(configuration: configuration, logger: testLogger)
  do {
    try await body(backend, context)
  } catch {
    await backend.terminateAllForTesting()
    throw error
  }
  await backend.terminateAllForTesting()
}

/// Reads what a sandbox's server sends first (a line) on `port`, through the backend's own
/// connection into the sandbox's network, or `nil`.
func readGreeting(_ backend: LocalBackend, id: String, port: Int = 8080) async -> String? {
  guard case .connectedSocket(let fd, _)? = try? await backend.connect(sessionID: id, port: port, timeout: .seconds(5))
  else { return nil }
  defer { close(fd) }
  var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
  guard poll(&entry, 1, 5000) == 1 else { return nil }
  var buffer = [UInt8](repeating: 0, count: 256)
  let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
  return n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : nil
}

/// Runs a program to its end (bounded) and returns its exit code and output.
func runProgram(_ path: String, _ arguments: [String], timeout: Duration = .seconds(30)) async throws -> (
  status: Int32, output: String
) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  let output = Pipe()
  process.standardOutput = output
  process.standardError = output
  process.standardInput = FileHandle.nullDevice
  try process.run()
  let deadline = ContinuousClock.now + timeout
  while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
  if process.isRunning {
    process.terminate()
    Issue.record("\(path) \(arguments) did not finish within \(timeout)")
  }
  process.waitUntilExit()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether something is mounted at `path` (per /proc/self/mountinfo).
func isMountPoint(_ path: String) -> Bool {
  let mounts = String(decoding: FileSystem.read("/proc/self/mountinfo") ?? [], as: UTF8.self)
  return mounts.split(separator: "\n").contains { line in
    let fields = line.split(separator: " ")
    return fields.count > 4 && fields[4] == path
  }
}
