import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeTestSupport
import Foundation
import KubernetesEmulator

/// How the benchmark server authenticates: the token file, or TokenReview against the project's
/// Kubernetes API emulator over HTTPS through the real libcurl client (warm once the first call of
/// a token was reviewed).
enum BenchmarkAuthenticator: String, CaseIterable, Sendable {
  case tokenFile = "token-file"
  case tokenReview = "tokenreview"
}

/// The emulator, its test CA and the HTTP client a `tokenreview` server reviews tokens with.
struct TokenReviewEnvironment: Sendable {
  let certificates: TestCertificates
  let emulator: KubernetesEmulator
  let http: CurlHTTPClient
  let authenticator: TokenReviewAuthenticator

  /// Starts an emulator that knows `token` as `system:serviceaccount:bench:client` and a reviewer
  /// token allowed to create tokenreviews, and the authenticator the server uses.
  static func start(token: String) async throws -> TokenReviewEnvironment {
    let certificates = try TestCertificates()
    let ca = try await certificates.makeCA("bench-ca")
    let server = try await certificates.issueLoopbackServer("bench-apiserver", signedBy: ca)
    let reviewer = UUID().uuidString
    let emulator = try await KubernetesEmulator.start(
      EmulatorConfiguration(
        certificatePath: server.certificate, privateKeyPath: server.key,
        tokens: [
          TokenRecord(
            token: reviewer, user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-r"),
            permissions: [.createTokenReviews]),
          TokenRecord(token: token, user: .serviceAccount(namespace: "bench", name: "client", uid: "uid-client")),
        ]))
    let http = CurlHTTPClient()
    let trust = TLSCredentials(certificateAuthority: Array(try Data(contentsOf: URL(fileURLWithPath: ca.certificate))))
    let api = KubernetesAPI(server: emulator.url, tls: trust, token: { reviewer }, http: http)
    // The daemon's defaults: 30 s success lifetime (a row's calls re-review at most once per 30 s).
    return TokenReviewEnvironment(
      certificates: certificates, emulator: emulator, http: http,
      authenticator: TokenReviewAuthenticator(api: api, cache: TokenReviewCache()))
  }

  /// TokenReviews the emulator answered.
  var reviews: Int { emulator.count(of: .tokenReviews) }

  func stop() async {
    http.shutdown()
    await emulator.stop()
    certificates.remove()
  }
}
