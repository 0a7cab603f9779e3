import AgentCubeTestSupport
import Foundation
import Glibc
import KubernetesEmulator
import Testing

/// `agentcubed --backend kubernetes --kubeconfig FILE` as a process against the Kubernetes API
/// emulator: TokenReview, Sandbox objects written with the caller's own token, the emulated
/// pod's real sshd reached through `agentcube tunnel` by real OpenSSH.
@Suite(
  "agentcubed --backend kubernetes",
  .enabled(if: EndToEnd.canRunOpenSSH, "needs root, sshd and the OpenSSH client"),
  .timeLimit(.minutes(10))
)
struct KubernetesBackendEndToEndTests {
  struct Fixture {
    let cluster: KubernetesCluster
    let daemon: DaemonFixture
    let kubeconfig: String

    /// A file holding `record`'s token (the CLI reads tokens from files or the environment).
    func tokenFile(of record: TokenRecord) throws -> String {
      let path = daemon.directory.file("token-\(record.user.uid)")
      try record.token.write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }

    func cli(_ arguments: [String], as record: TokenRecord) async throws -> ProcessResult {
      try await daemon.cli(arguments, token: .literal(record.token))
    }

    /// The Sandbox objects of `namespace` as the emulator holds them.
    func sandboxNames(in namespace: String) -> [String] {
      cluster.emulator.sandboxNames(namespace: namespace)
    }

    /// The Sandbox deletes the emulator answered with 200, in the order it answered them.
    func successfulSandboxDeletes() -> [RequestRecord] {
      cluster.emulator.recentRequests.filter { $0.route == .sandboxesDelete && $0.status == 200 }
    }

    /// Waits until the server's garbage collection deleted `session`'s Sandbox in team-a, then checks
    /// that the server's own account did it and that the session is NOT_FOUND for `caller`.
    func expectCollectedByTheServer(_ session: CLISession, _ what: String, as caller: TokenRecord) async throws {
      // The emulator logs a request once it has answered it, which is after the Sandbox went: both are waited for.
      do {
        try await eventually(every: .milliseconds(100), "\(what) to go") {
          sandboxNames(in: "team-a").isEmpty && !successfulSandboxDeletes().isEmpty
        }
      } catch {
        let deletes = cluster.emulator.recentRequests.filter { $0.route == .sandboxesDelete }
        throw TimedOut(
          description: "\(error)\nSandboxes left in team-a: \(sandboxNames(in: "team-a")); deletes: \(deletes)"
            + "\n--- the server's warnings:\n\(daemon.daemonWarnings)")
      }
      let deletes = successfulSandboxDeletes()
      #expect(deletes.map(\.user) == [KubernetesCluster.server.user.username], "\(deletes)")
      #expect(try await cli(["session", "get", session.id], as: caller).exitCode == 15)
    }
  }

  static func with(
    versions: [SandboxVersion] = [.v1beta1], extraArguments: [String] = [],
    configure: (inout EmulatorConfiguration) -> Void = { _ in }, _ body: (Fixture) async throws -> Void
  ) async throws {
    let cluster = try await KubernetesCluster.start(versions: versions, configure: configure)
    var options = DaemonFixture.Options()
    let kubeconfig = try cluster.writeKubeconfig()
    options.extraArguments = ["--backend", "kubernetes", "--kubeconfig", kubeconfig] + extraArguments
    let daemon: DaemonFixture
    do {
      daemon = try DaemonFixture(options: options)
    } catch {
      await cluster.stop()
      throw error
    }
    var failure: (any Error)?
    do {
      _ = try await daemon.startDaemon()
      try await body(Fixture(cluster: cluster, daemon: daemon, kubeconfig: kubeconfig))
      // Every request of the server's own account is one k8s/ allows it.
      #expect(try cluster.serverRequestsNotAllowed() == [])
    } catch {
      failure = error
    }
    await daemon.tearDown()
    await cluster.stop()
    if let failure { throw failure }
  }

  @Test("the original's flow: TokenReview, a Sandbox created as the caller, ssh and sftp through the tunnel, delete")
  func originalFlow() async throws {
    try await Self.with { f in
      let alice = KubernetesCluster.alice
      let ssh = try await OpenSSH(fixture: f.daemon, tokenFile: try f.tokenFile(of: alice))
      let session = try await ssh.createSession(image: "agentcube/sshd:test")
      #expect(session.creator == alice.user.username)
      #expect(f.sandboxNames(in: "team-a") == [session.name])
      // Written with the caller's token: the server's own account has no create on sandboxes.
      let creates = f.cluster.emulator.recentRequests.filter { $0.route == .sandboxesCreate && $0.status == 201 }
      #expect(creates.map(\.user) == [alice.user.username], "\(creates)")

      let echo = try await ssh.run(session, "echo through the tunnel")
      #expect(echo.exitCode == 0 && echo.stdout == "through the tunnel\n", "\(echo)")
      let file = f.daemon.directory.file("upload.txt")
      try "sent by sftp\n".write(toFile: file, atomically: true, encoding: .utf8)
      let remote = "/tmp/agentcube-e2e-\(session.id)"
      let put = try await ssh.sftp(session, batch: "put \(file) \(remote)\nget \(remote) \(file).back\n")
      #expect(put.exitCode == 0, "\(put)")
      #expect((try? String(contentsOfFile: file + ".back", encoding: .utf8)) == "sent by sftp\n")
      _ = try? FileManager.default.removeItem(atPath: remote)

      let delete = try await f.cli(["session", "delete", session.id], as: alice)
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(f.sandboxNames(in: "team-a").isEmpty, "the Sandbox is gone")
      let deletes = f.successfulSandboxDeletes()
      #expect(deletes.map(\.user) == [alice.user.username], "deleted with the caller's token: \(deletes)")
      let after = try await f.cli(["session", "get", session.id], as: alice)
      #expect(after.exitCode == 15, "NOT_FOUND: \(after)")
    }
  }

  @Test("a caller without RBAC gets Kubernetes' own message; a stranger can do nothing with another's session")
  func permissions() async throws {
    try await Self.with { f in
      let denied = try await f.cli(["session", "create", "--image", "agentcube/sshd:test"], as: KubernetesCluster.carol)
      #expect(denied.exitCode == 17, "PERMISSION_DENIED: \(denied)")
      #expect(
        denied.stderr.contains(#"User "system:serviceaccount:team-c:carol" cannot create resource "sandboxes""#),
        "\(denied)")
      #expect(f.sandboxNames(in: "team-c").isEmpty)

      let created = try await f.cli(["session", "create", "--image", "agentcube/sshd:test", "--json"], as: KubernetesCluster.alice)
      let session = try created.succeeded(as: CLISession.self)
      let bob = KubernetesCluster.bob
      for arguments in [["session", "get", session.id], ["session", "renew", session.id, "--ttl", "600"], ["session", "delete", session.id]] {
        let result = try await f.cli(arguments, as: bob)
        #expect(result.exitCode == 17, "PERMISSION_DENIED for \(arguments): \(result)")
      }
      let list = try await f.cli(["session", "list", "--json"], as: bob)
      #expect(try list.succeeded(as: CLISessionList.self).sessions.isEmpty)
      let tunnel = try await f.daemon.cli(["tunnel", session.id], token: .literal(bob.token))
      #expect(tunnel.exitCode == 17 || tunnel.stderr.contains("PERMISSION_DENIED"), "\(tunnel)")
      #expect(f.sandboxNames(in: "team-a") == [session.name], "untouched")
    }
  }

  @Test("a failed pod and a never-ready pod fail the create and leave no Sandbox behind")
  func failedAndNeverReady() async throws {
    try await Self.with { f in
      let alice = KubernetesCluster.alice
      let failed = try await f.cli(["session", "create", "--image", "registry/fail:1"], as: alice)
      #expect(failed.exitCode == 19, "FAILED_PRECONDITION: \(failed)")
      #expect(failed.stderr.contains("PodFailed"), "\(failed)")
      let stuck = try await f.cli(["session", "create", "--image", "registry/never-ready:1", "--timeout", "3"], as: alice)
      #expect(stuck.exitCode == 14 || stuck.exitCode == 24, "DEADLINE_EXCEEDED: \(stuck)")
      try await eventually(every: .milliseconds(100), "the half-made Sandboxes to be deleted") {
        f.sandboxNames(in: "team-a").isEmpty
      }
    }
  }
}

extension KubernetesBackendEndToEndTests {
  @Test("two replicas serve and delete each other's sessions; a restarted server serves them again")
  func twoReplicasAndARestart() async throws {
    try await Self.with { f in
      var options = DaemonFixture.Options()
      options.extraArguments = ["--backend", "kubernetes", "--kubeconfig", f.kubeconfig]
      let second = try DaemonFixture(options: options)
      defer { second.remove() }
      do {
        _ = try await second.startDaemon()
        let alice = KubernetesCluster.alice
        let first = try await f.cli(["session", "create", "--image", "agentcube/sshd:test", "--json"], as: alice)
          .succeeded(as: CLISession.self)
        // The other replica sees it within a watch event.
        try await eventually(every: .milliseconds(50), "the second replica to see the session") {
          try await second.cli(["session", "get", first.id], token: .literal(alice.token)).exitCode == 0
        }
        let other = try await second.cli(
          ["session", "create", "--image", "agentcube/sshd:test", "--json"], token: .literal(alice.token)
        ).succeeded(as: CLISession.self)
        try await eventually(every: .milliseconds(50), "the first replica to list both") {
          let list = try await f.cli(["session", "list", "--json"], as: alice)
          return Set((try? list.succeeded(as: CLISessionList.self).sessions.map(\.id)) ?? []) == [first.id, other.id]
        }
        // Each deletes the other's.
        #expect(try await second.cli(["session", "delete", first.id], token: .literal(alice.token)).exitCode == 0)
        #expect(try await f.cli(["session", "delete", other.id], as: alice).exitCode == 0)
        try await eventually(every: .milliseconds(50), "both replicas to forget both") {
          let one = try await f.cli(["session", "list", "--json"], as: alice)
          let two = try await second.cli(["session", "list", "--json"], token: .literal(alice.token))
          return (try? one.succeeded(as: CLISessionList.self).sessions.isEmpty) == true
            && (try? two.succeeded(as: CLISessionList.self).sessions.isEmpty) == true
        }
        #expect(f.sandboxNames(in: "team-a").isEmpty)

        // A restart keeps nothing of its own, and needs nothing: the cluster has it all.
        let kept = try await second.cli(
          ["session", "create", "--image", "agentcube/sshd:test", "--json"], token: .literal(alice.token)
        ).succeeded(as: CLISession.self)
        for result in await second.stopAll() { #expect(result.termination == .exited(0), "\(result)") }
        _ = try await second.startDaemon()
        let again = try await second.cli(["session", "get", kept.id, "--json"], token: .literal(alice.token))
        #expect(try again.succeeded(as: CLISession.self).id == kept.id)
      } catch {
        _ = await second.stopAll()
        throw error
      }
      _ = await second.stopAll()
    }
  }

  @Test("an expired session's Sandbox is deleted by the server's own account, even where the cluster would not")
  func expiredSessionsAreCollected() async throws {
    // The emulated controller never acts on shutdownTime here (not even when a later change makes
    // it look again), so only the server can end it.
    try await Self.with(configure: { $0.sandboxes.controller.actsOnShutdownTime = false }) { f in
      let alice = KubernetesCluster.alice
      let session = try await f.cli(
        ["session", "create", "--image", "agentcube/sshd:test", "--json"], as: alice
      ).succeeded(as: CLISession.self)
      // Renewed to end a second from now, however long the create took.
      let renew = try await f.cli(["session", "renew", session.id, "--ttl", "1"], as: alice)
      #expect(renew.exitCode == 0, "\(renew)")
      try await f.expectCollectedByTheServer(session, "the expired session's Sandbox", as: alice)
    }
  }

  @Test("an idle session's Sandbox is deleted by the server's own account")
  func idleSessionsAreCollected() async throws {
    try await Self.with { f in
      let alice = KubernetesCluster.alice
      let session = try await f.cli(
        ["session", "create", "--image", "agentcube/sshd:test", "--idle-timeout", "1", "--ttl", "600", "--json"], as: alice
      ).succeeded(as: CLISession.self)
      try await f.expectCollectedByTheServer(session, "the idle session's Sandbox", as: alice)
    }
  }

  @Test("an older controller reports no podIPs: the tunnel reaches the pod's own address")
  func podAddressFromThePod() async throws {
    try await Self.with(configure: { $0.sandboxes.controller.setsPodIPs = false }) { f in
      let alice = KubernetesCluster.alice
      let ssh = try await OpenSSH(fixture: f.daemon, tokenFile: try f.tokenFile(of: alice))
      let session = try await ssh.createSession(image: "agentcube/sshd:test")
      let echo = try await ssh.run(session, "echo via the pod")
      #expect(echo.exitCode == 0 && echo.stdout == "via the pod\n", "\(echo)")
      let podReads = f.cluster.emulator.requests(by: KubernetesCluster.server.user.username).filter { $0.route == .podsGet }
      #expect(!podReads.isEmpty, "the address came from a GET of the pod")
      #expect(try await f.cli(["session", "delete", session.id], as: alice).exitCode == 0)
    }
  }

  @Test("--sandbox-api-version v1alpha1 against an older agent-sandbox")
  func v1alpha1() async throws {
    try await Self.with(versions: [.v1alpha1], extraArguments: ["--sandbox-api-version", "v1alpha1"]) { f in
      let alice = KubernetesCluster.alice
      let session = try await f.cli(["session", "create", "--image", "agentcube/sshd:test", "--json"], as: alice)
        .succeeded(as: CLISession.self)
      #expect(session.status == "running")
      let stored = f.cluster.emulator.sandbox(namespace: "team-a", name: session.name, as: .v1alpha1)
      #expect(stored?["spec"]["replicas"] == .int(1), "\(String(describing: stored))")
      #expect(try await f.cli(["session", "delete", session.id], as: alice).exitCode == 0)
      #expect(f.sandboxNames(in: "team-a").isEmpty)
    }
  }
}

extension KubernetesBackendEndToEndTests {
  @Test("the API down: a create is UNAVAILABLE, reads come from the cache, and all works again without a restart")
  func apiDownAndBack() async throws {
    try await Self.with { f in
      let alice = KubernetesCluster.alice
      let kept = try await f.cli(["session", "create", "--image", "agentcube/sshd:test", "--json"], as: alice)
        .succeeded(as: CLISession.self)
      await f.cluster.emulator.refuseConnections()
      let refused = try await f.cli(["session", "create", "--image", "agentcube/sshd:test"], as: alice)
      #expect(refused.exitCode == 24, "UNAVAILABLE: \(refused)")
      #expect(refused.stderr.contains("unreachable"), "\(refused)")
      let cached = try await f.cli(["session", "get", kept.id, "--json"], as: alice)
      #expect(try cached.succeeded(as: CLISession.self).id == kept.id, "served from the informer's cache")

      try await f.cluster.emulator.acceptConnections()
      let created = try await f.cli(["session", "create", "--image", "agentcube/sshd:test", "--json"], as: alice)
      let session = try created.succeeded(as: CLISession.self)
      #expect(session.status == "running")
      for id in [kept.id, session.id] {
        #expect(try await f.cli(["session", "delete", id], as: alice).exitCode == 0)
      }
      try await eventually(every: .milliseconds(100), "both Sandboxes to be gone") {
        f.sandboxNames(in: "team-a").isEmpty
      }
    }
  }
}
