import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// `agentcubed --authenticator tokenreview --kubeconfig FILE` as a process, with the local backend,
/// checking the CLI's tokens against the Kubernetes emulator.
@Suite(.timeLimit(.minutes(10)))
struct TokenReviewEndToEndTests {
  @Test("agentcubed with --authenticator tokenreview serves the CLI with a cluster's service-account tokens")
  func daemonWithTokenReview() async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("cluster-ca")
    let server = try await certificates.issueLoopbackServer("apiserver", signedBy: ca)
    // The server's account may do what k8s/ grants it, as in a cluster with those manifests applied.
    let manifests = try RBACManifests.load()
    let reviewer = TokenRecord(
      token: "reviewer-secret-e2e",
      user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-r"),
      permissions: manifests.emulatorPermissions(
        username: RBACManifests.serverUsername, groups: RBACManifests.groups(ofUsername: RBACManifests.serverUsername)))
    let agent = TokenRecord(
      token: "agent-secret-e2e", user: .serviceAccount(namespace: "team-a", name: "agent", uid: "uid-a"))
    let emulator = try await KubernetesEmulator.start(
      EmulatorConfiguration(certificatePath: server.certificate, privateKeyPath: server.key, tokens: [reviewer, agent]))
    let kubeconfig = certificates.directory.file("kubeconfig")
    try """
      apiVersion: v1
      kind: Config
      clusters: [{name: emulator, cluster: {server: "\(emulator.url)", certificate-authority: \(ca.certificate)}}]
      users: [{name: agentcubed, user: {token: \(reviewer.token)}}]
      contexts: [{name: test, context: {cluster: emulator, user: agentcubed}}]
      current-context: test
      """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    var options = DaemonFixture.Options()
    options.extraArguments = ["--authenticator", "tokenreview", "--kubeconfig", kubeconfig]
    // Not withDaemon: there is no development token file to check for.
    let fixture = try DaemonFixture(options: options)
    defer { fixture.remove() }
    do {
      do {
        let daemon = try await fixture.startDaemon()
        let list = try await fixture.cli(["session", "list", "--json"], token: .literal(agent.token))
        #expect(list.exitCode == 0, "\(list)")
        let create = try await fixture.cli(
          ["session", "create", "--image", DaemonFixture.echoImage, "--json"], token: .literal(agent.token))
        let session = try create.succeeded(as: CLISession.self)
        #expect(session.creator == "system:serviceaccount:team-a:agent")
        let delete = try await fixture.cli(["session", "delete", session.id], token: .literal(agent.token))
        #expect(delete.exitCode == 0, "\(delete)")
        let stranger = try await fixture.cli(["session", "list"], token: .literal("not-a-cluster-token"))
        #expect(stranger.exitCode == 26, "UNAUTHENTICATED: \(stranger)")
        #expect(emulator.count(of: .tokenReviews) == 2, "one review per token: the rest came from the cache")
        #expect(manifests.disallowed(emulator.recentRequests) == [], "every request the daemon made is one k8s/ allows")
        #expect(daemon.stderr.contains("authenticating with TokenReview"), "\(daemon.stderr)")
        // The daemon logs at trace level (DaemonFixture's default): still no byte of a token.
        for secret in [reviewer.token, agent.token, "not-a-cluster-token"] {
          #expect(!daemon.stderr.contains(secret) && !daemon.stdout.contains(secret))
        }
        for output in [list, create, delete, stranger] {
          #expect(!output.stderr.contains(agent.token) && !output.stderr.contains("not-a-cluster-token"))
        }
      }
      for result in await fixture.stopAll() { #expect(result.termination == .exited(0), "\(result)") }
    } catch {
      _ = await fixture.stopAll()
      await emulator.stop()
      throw error
    }
    await emulator.stop()
  }
}
