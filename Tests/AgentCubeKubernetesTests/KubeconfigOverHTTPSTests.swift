import AgentCubeCore
import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

@testable import AgentCubeKubernetes

/// Each way of finding the API server and credentials, used for real: the connection resolved from
/// files, then a TokenReview through the libcurl client over HTTPS to the emulator.
@Suite(.timeLimit(.minutes(10)))
struct KubeconfigOverHTTPSTests {
  static let reviewer = TokenRecord(
    token: "reviewer-first-0001", user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-1"),
    permissions: [.createTokenReviews])
  static let rotated = TokenRecord(
    token: "reviewer-rotated-0002", user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-1"),
    permissions: [.createTokenReviews])
  static let powerless = TokenRecord(
    token: "powerless-0003", user: .serviceAccount(namespace: "agentcube-system", name: "other", uid: "uid-3"))
  static let agent = TokenRecord(
    token: "agent-0004", user: .serviceAccount(namespace: "team-a", name: "agent", uid: "uid-agent"))
  /// The client certificate's user, as kube's x509 authenticator names it: the CN.
  static let certificateUser = "agentcube-server"

  struct Fixture {
    let emulator: KubernetesEmulator
    let http: CurlHTTPClient
    let directory: TemporaryDirectory
    let clusterCA: TestCertificates.Pair
    let otherCA: TestCertificates.Pair
    let clientCertificate: TestCertificates.Pair
    /// Signed by a CA the emulator does not trust for clients.
    let strangerCertificate: TestCertificates.Pair

    func write(_ name: String, _ text: String) throws -> String {
      let path = directory.file(name)
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      return path
    }

    func base64(ofFile path: String) throws -> String {
      try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString()
    }

    /// A kubeconfig for the emulator with `cluster` fields and `user` fields (YAML flow maps' insides).
    func kubeconfig(cluster: String, user: String, server: String? = nil, current: String? = "dev") -> String {
      """
      apiVersion: v1
      kind: Config
      clusters:
      - name: emulator
        cluster: {server: "\(server ?? emulator.url)", \(cluster)}
      users:
      - name: me
        user: {\(user)}
      contexts:
      - name: dev
        context: {cluster: emulator, user: me}
      \(current.map { "current-context: \($0)" } ?? "")
      """
    }

    /// Reviews the agent's token with the connection's credentials (no cache between calls).
    func review(with connection: KubernetesConnection) async throws -> Identity {
      var api = KubernetesAPI(connection, http: http)
      api.initialBackoff = .milliseconds(10)
      api.maxAttempts = 2
      let authenticator = TokenReviewAuthenticator(api: api, cache: TokenReviewCache())
      return try await authenticator.authenticate(BearerToken(agent.token))
    }

    func reviewsAsTheAgent(_ connection: KubernetesConnection, sourceLocation: SourceLocation = #_sourceLocation)
      async throws
    {
      let identity = try await review(with: connection)
      #expect(identity.username == agent.user.username, sourceLocation: sourceLocation)
    }

    func unavailable(_ connection: KubernetesConnection) async throws -> RPCError {
      let error = try await #require(throws: RPCError.self) { try await review(with: connection) }
      #expect(error.code == .unavailable, "\(error)")
      return error
    }
  }

  static func with(_ body: (Fixture) async throws -> Void) async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let clusterCA = try await certificates.makeCA("cluster-ca")
    let otherCA = try await certificates.makeCA("other-ca")
    let clientCA = try await certificates.makeCA("client-ca")
    let server = try await certificates.issueLoopbackServer("apiserver", signedBy: clusterCA)
    let client = try await certificates.issue(
      "client", subject: "/O=agentcube/CN=\(certificateUser)", signedBy: clientCA)
    let stranger = try await certificates.issue(
      "stranger", subject: "/O=agentcube/CN=\(certificateUser)", signedBy: otherCA)
    var configuration = EmulatorConfiguration(
      certificatePath: server.certificate, privateKeyPath: server.key,
      tokens: [reviewer, rotated, powerless, agent])
    configuration.clientCertificates = ClientCertificateAuthentication(
      certificateAuthorityPath: clientCA.certificate, permissions: [certificateUser: [.createTokenReviews]])
    let emulator = try await KubernetesEmulator.start(configuration)
    let http = CurlHTTPClient()
    let directory = try TemporaryDirectory(prefix: "acube-kubeconfig")
    let fixture = Fixture(
      emulator: emulator, http: http, directory: directory, clusterCA: clusterCA, otherCA: otherCA,
      clientCertificate: client, strangerCertificate: stranger)
    var failure: (any Error)?
    do { try await body(fixture) } catch { failure = error }
    http.shutdown()
    await emulator.stop()
    directory.remove()
    if let failure { throw failure }
  }

  @Test func aTokenWithTheCAAsAFileOrAsDataAndAWrongCAIsRefused() async throws {
    try await Self.with { f in
      _ = try f.write("ca.pem", try String(contentsOfFile: f.clusterCA.certificate, encoding: .utf8))
      let file = try f.write("file", f.kubeconfig(cluster: "certificate-authority: ca.pem", user: "token: \(Self.reviewer.token)"))
      try await f.reviewsAsTheAgent(try KubernetesConnection.resolve(kubeconfig: file, context: nil, environment: [:]))

      let data = try f.write(
        "data",
        f.kubeconfig(
          cluster: "certificate-authority-data: \(try f.base64(ofFile: f.clusterCA.certificate))",
          user: "token: \(Self.reviewer.token)"))
      try await f.reviewsAsTheAgent(try KubernetesConnection.resolve(kubeconfig: data, context: nil, environment: [:]))

      let wrong = try f.write(
        "wrong",
        f.kubeconfig(
          cluster: "certificate-authority-data: \(try f.base64(ofFile: f.otherCA.certificate))",
          user: "token: \(Self.reviewer.token)"))
      let error = try await f.unavailable(try KubernetesConnection.resolve(kubeconfig: wrong, context: nil, environment: [:]))
      #expect(!error.message.contains(Self.reviewer.token))
    }
  }

  @Test func aTokenFileIsReadAgainAfterItRotates() async throws {
    try await Self.with { f in
      _ = try f.write("token", Self.reviewer.token + "\n")
      let config = try f.write(
        "config",
        f.kubeconfig(
          cluster: "certificate-authority-data: \(try f.base64(ofFile: f.clusterCA.certificate))", user: "tokenFile: token"))
      let connection = try KubernetesConnection.resolve(kubeconfig: config, context: nil, environment: [:])
      try await f.reviewsAsTheAgent(connection)
      // The kubelet writes the new token and the old one stops working.
      _ = try f.write("token", Self.rotated.token)
      f.emulator.tokens.revoke(Self.reviewer.token)
      try await f.reviewsAsTheAgent(connection)
      #expect(f.emulator.count(of: .tokenReviews) == 2)
    }
  }

  @Test(arguments: [false, true])
  func aClientCertificateFromFilesOrData(asData: Bool) async throws {
    try await Self.with { f in
      let ca = "certificate-authority-data: \(try f.base64(ofFile: f.clusterCA.certificate))"
      func user(_ pair: TestCertificates.Pair) throws -> String {
        asData
          ? "client-certificate-data: \(try f.base64(ofFile: pair.certificate)), client-key-data: \(try f.base64(ofFile: pair.key))"
          : "client-certificate: \(pair.certificate), client-key: \(pair.key)"
      }
      let config = try f.write("config", f.kubeconfig(cluster: ca, user: try user(f.clientCertificate)))
      let connection = try KubernetesConnection.resolve(kubeconfig: config, context: nil, environment: [:])
      #expect(try connection.token() == nil, "no token: the certificate authenticates")
      try await f.reviewsAsTheAgent(connection)

      // The same name from a CA the API server does not trust for clients: the handshake fails.
      let stranger = try f.write("stranger", f.kubeconfig(cluster: ca, user: try user(f.strangerCertificate)))
      _ = try await f.unavailable(try KubernetesConnection.resolve(kubeconfig: stranger, context: nil, environment: [:]))
    }
  }

  @Test func aKUBECONFIGListMergedWithTheFirstFileWinning() async throws {
    try await Self.with { f in
      let ca = "certificate-authority-data: \(try f.base64(ofFile: f.clusterCA.certificate))"
      // The first names no current context but has the user and cluster that win; the second
      // has the current context and a user and cluster of the same names that lose.
      let first = try f.write("first", f.kubeconfig(cluster: ca, user: "token: \(Self.reviewer.token)", current: nil))
      let second = try f.write(
        "second", f.kubeconfig(cluster: ca, user: "token: \(Self.powerless.token)", server: "https://127.0.0.1:1"))
      let connection = try KubernetesConnection.resolve(
        kubeconfig: nil, context: nil, environment: ["KUBECONFIG": "\(first):\(f.directory.file("missing")):\(second)"])
      try await f.reviewsAsTheAgent(connection)
    }
  }

  @Test func theContextFlagPicksAnotherUser() async throws {
    try await Self.with { f in
      let text = """
        clusters:
        - name: emulator
          cluster: {server: "\(f.emulator.url)", certificate-authority-data: \(try f.base64(ofFile: f.clusterCA.certificate))}
        users:
        - {name: weak, user: {token: \(Self.powerless.token)}}
        - {name: strong, user: {token: \(Self.reviewer.token)}}
        contexts:
        - {name: dev, context: {cluster: emulator, user: weak}}
        - {name: ops, context: {cluster: emulator, user: strong}}
        current-context: dev
        """
      let config = try f.write("config", text)
      try await f.reviewsAsTheAgent(try KubernetesConnection.resolve(kubeconfig: config, context: "ops", environment: [:]))
      // The current context's user may not review: the server's own problem, UNAVAILABLE with kube's words.
      let error = try await f.unavailable(try KubernetesConnection.resolve(kubeconfig: config, context: nil, environment: [:]))
      #expect(error.message.contains("cannot create resource \"tokenreviews\""), "\(error)")
    }
  }

  @Test func inAPodFromTheEnvironmentAndTheMountedFilesWhichRotate() async throws {
    try await Self.with { f in
      let account = f.directory.file("serviceaccount")
      try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: f.clusterCA.certificate, toPath: account + "/ca.crt")
      try Self.reviewer.token.write(toFile: account + "/token", atomically: true, encoding: .utf8)
      try "team-a".write(toFile: account + "/namespace", atomically: true, encoding: .utf8)
      let connection = try KubernetesConnection.resolve(
        kubeconfig: nil, context: nil,
        environment: ["KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "\(f.emulator.port)"],
        serviceAccountDirectory: account)
      #expect(connection.namespace == "team-a")
      try await f.reviewsAsTheAgent(connection)
      try Self.rotated.token.write(toFile: account + "/token", atomically: true, encoding: .utf8)
      f.emulator.tokens.revoke(Self.reviewer.token)
      try await f.reviewsAsTheAgent(connection)
    }
  }
}
