import AgentCubeCore
import Foundation
import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Local backend: failures while creating")
struct LocalBackendFailureTests {
  @Test("an unknown image is INVALID_ARGUMENT listing the known images")
  func unknownImage() async throws {
    try await withBackend { backend, _ in
      let error = await #expect(throws: RPCError.self) {
        try await backend.createSession(makeSpec(image: "nginx"), caller: try caller(), deadline: soon())
      }
      #expect(error?.code == .invalidArgument)
      #expect(error?.message == "unknown image 'nginx'; known images: default, hello")
    }
  }

  @Test("a sandbox that exits while starting fails with the end of its output; nothing is left")
  func exitsAtStart() async throws {
    let crashing = LocalImage.command(
      ["/bin/sh", "-c", "echo starting; echo 'fatal: cannot open /config.toml' >&2; exit 3"], port: 9000)
    try await withBackend(images: ["crash": crashing]) { backend, context in
      let spec = makeSpec(image: "crash")
      let error = await #expect(throws: RPCError.self) {
        try await backend.createSession(spec, caller: try caller(), deadline: soon())
      }
      #expect(error?.code == .failedPrecondition)
      #expect(error?.message.contains("exit status 3") == true)
      #expect(error?.message.contains("fatal: cannot open /config.toml") == true)
      #expect(await eventually { FileSystem.list(context.stateDirectory + "/sandboxes") == [] })
      #expect(FileSystem.list(context.stateDirectory + "/sessions") == [])
      let after = try await backend.session(id: spec.id)
      #expect(after == nil)
    }
  }

  @Test("a sandbox that does not serve by the deadline is removed: DEADLINE_EXCEEDED")
  func deadline() async throws {
    let silent = LocalImage.command(["/bin/sleep", "60"], port: 9000)
    // A start timeout no busy machine reaches: the call can only end early by honouring its deadline.
    let startTimeout = Duration.seconds(120)
    try await withBackend(images: ["silent": silent], configure: { $0.startTimeout = startTimeout }) { backend, context in
      let spec = makeSpec(image: "silent")
      let started = ContinuousClock.now
      let error = await #expect(throws: RPCError.self) {
        try await backend.createSession(spec, caller: try caller(), deadline: .now + .milliseconds(500))
      }
      #expect(error?.code == .deadlineExceeded)
      // Not the start timeout (nor the image's 60 s sleep) ended it.
      #expect(ContinuousClock.now - started < startTimeout)
      #expect(await eventually { FileSystem.list(context.stateDirectory + "/sandboxes") == [] })
      #expect(FileSystem.list(context.stateDirectory + "/sessions") == [])
      // No sleep of that session is left anywhere.
      let leftovers = (FileSystem.list("/proc") ?? []).compactMap(Int32.init).filter { pid in
        let environ = FileSystem.read("/proc/\(pid)/environ", limit: 1 << 16) ?? []
        return String(decoding: environ, as: UTF8.self).contains(spec.id)
      }
      #expect(leftovers.isEmpty)
    }
  }

  @Test("a key with a line break is refused")
  func multiLineKey() async throws {
    try await withBackend { backend, _ in
      let spec = makeSpec(image: "hello", sshPublicKey: "ssh-ed25519 AAAA x\ncommand=\"sh\" ssh-ed25519 AAAA y")
      let error = await #expect(throws: RPCError.self) {
        try await backend.createSession(spec, caller: try caller(), deadline: soon())
      }
      #expect(error?.code == .invalidArgument)
    }
  }
}
