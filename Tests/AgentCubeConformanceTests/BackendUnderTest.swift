import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeKubernetesBackend
import AgentCubeLocalBackend
import AgentCubeServer
import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Logging
import ServiceLifecycle

/// One backend the conformance suite runs against, made fresh for each test on a manual clock.
struct BackendUnderTest: Sendable, CustomStringConvertible {
  /// A started backend (its `run()` going) and how to end it.
  struct Instance: Sendable {
    let backend: any SessionBackend
    /// The image every test creates: it serves SSH (or an SSH-like banner) on the session's port.
    let image: String
    let stop: @Sendable () async -> Void
  }

  let name: String
  let make: @Sendable (ManualWallClock) async throws -> Instance

  var description: String { name }

  static let memory = BackendUnderTest(name: "memory") { clock in
    let backend = try await InMemoryBackend(wallClock: clock.clock)
    return running(backend, image: "any-image", cleanup: {})
  }

  static let local = BackendUnderTest(name: "local") { clock in
    let directory = try TemporaryDirectory(prefix: "acconf")
    var configuration = LocalBackend.Configuration.defaults(stateDirectory: directory.file("state"))
    configuration.clock = clock.clock
    configuration.reapInterval = .milliseconds(100)
    var logger = Logger(label: "conformance.local")
    logger.logLevel = .warning
    let backend = try await LocalBackend(configuration: configuration, logger: logger)
    return running(backend, image: LocalImage.defaultName) {
      // The sessions' sandboxes go with the test.
      for creator in [TestServer.Username.alice, TestServer.Username.bob] {
        for session in (try? await backend.sessions(createdBy: creator)) ?? [] {
          try? await backend.deleteSession(id: session.id, caller: Caller(identity: try Identity(username: creator), token: BearerToken("-")))
        }
      }
      directory.remove()
    }
  }

  static let kubernetes = BackendUnderTest(name: "kubernetes") { clock in
    // The cluster keeps the test's time too: its controller ends a Sandbox at shutdownTime by the
    // same clock the backend wrote it with (the real time would end one whose create took long).
    let cluster = try await KubernetesCluster.start {
      $0.clock = EmulatorClock { Date(timeIntervalSince1970: Double(clock.now) / 1000) }
    }
    var configuration = KubernetesBackend.Configuration()
    configuration.wallClock = clock.clock
    configuration.collectionInterval = .milliseconds(200)
    var logger = Logger(label: "conformance.kubernetes")
    logger.logLevel = .warning
    let backend = KubernetesBackend(api: try cluster.serverAPI(), configuration: configuration, logger: logger)
    let instance = running(backend, image: "agentcube/sshd:test") { await cluster.stop() }
    guard await backend.informer.waitUntilSynced(timeout: .seconds(20)) else {
      await instance.stop()
      throw RPCError.unavailable("the informer did not sync")
    }
    return instance
  }

  /// Starts `backend.run()`; the instance's `stop` cancels it, shuts the backend down and cleans up.
  static func running(
    _ backend: any SessionBackend, image: String, cleanup: @escaping @Sendable () async -> Void
  ) -> Instance {
    let runner = Task { try await backend.run() }
    return Instance(backend: backend, image: image) {
      await cleanup()
      runner.cancel()
      _ = await runner.result
      await backend.shutdown()
    }
  }
}
