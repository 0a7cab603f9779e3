import AgentCubeCore
import Foundation
import Glibc
import Logging
import Testing

@testable import AgentCubeLocalBackend

/// A temporary state directory and a loopback pool of its own, so tests run in parallel.
struct TestContext {
  let directory: String
  let pool: String

  init() throws {
    var template = Array("/tmp/aclb-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw LocalBackendError("mkdtemp failed") }
    directory = String(cString: made)
    pool = "127.\(Int.random(in: 100...250)).\(Int.random(in: 0...255)).0/24"
  }

  var stateDirectory: String { directory + "/state" }

  func configuration(images: [String: LocalImage] = [:]) -> LocalBackend.Configuration {
    var configuration = LocalBackend.Configuration.defaults(stateDirectory: stateDirectory)
    configuration.images.merge(images) { $1 }
    configuration.addressPool = pool
    configuration.startTimeout = .seconds(15)
    configuration.stopGrace = .seconds(2)
    configuration.reapInterval = .milliseconds(100)
    return configuration
  }

  func remove() { try? FileSystem.removeTree(directory) }
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

func soon() -> ContinuousClock.Instant { .now + .seconds(15) }

/// Polls `condition` until it holds or `limit` passes; returns whether it held.
func eventually(within limit: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
  let deadline = ContinuousClock.now + limit
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try? await Task.sleep(for: .milliseconds(20))
  }
  return try await condition()
}

/// Whether any non-zombie process is in group `id` (what the backend itself checks).
func groupIsAlive(_ id: Int32) -> Bool { ProcessGroup(id: id).hasLiveMembers }

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

/// Reads what a TCP server sends first (a line), or `nil`.
func readGreeting(address: String, port: UInt16) -> String? {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var timeout = timeval(tv_sec: 5, tv_usec: 0)
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
  guard let address = SocketAddress(address: address, port: port), address.withSockAddr({ connect(fd, $0, $1) }) == 0
  else { return nil }
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
