import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import NIOHTTP1
import Testing

/// Routes added by later resources, and the emulator as its own program.
@Suite("KubernetesEmulator: routes and executable")
struct ExtensionAndExecutableTests {
  typealias F = EmulatorFixture

  static let getSandbox = Route(
    id: RouteID("sandboxes.get"), method: .GET,
    path: "/apis/agents.x-k8s.io/v1beta1/namespaces/{namespace}/sandboxes/{name}",
    access: RouteAccess(
      verb: "get", group: "agents.x-k8s.io", resource: "sandboxes", namespaceParameter: "namespace",
      nameParameter: "name")
  ) { request in
    let body = #"{"kind":"Sandbox","metadata":{"name":"\#(request.pathParameters["name"] ?? "")"}}"#
    return EmulatorResponse(status: .ok, json: Array(body.utf8))
  }

  @Test func namespacedRouteAuthorizesPerNamespaceInKubesWords() async throws {
    let reader = TokenRecord(
      token: "reader-secret", user: .serviceAccount(namespace: "team-a", name: "reader", uid: "u-r"),
      permissions: [Permission(verb: "get", group: "agents.x-k8s.io", resource: "sandboxes", namespace: "team-a")])
    // The built-in Sandbox routes off (the CRD "not installed"), so this route serves the path.
    try await F.with(tokens: [reader], routes: [Self.getSandbox], configure: { $0.sandboxes.servedVersions = [] }) { f in
      let allowed = try await f.request(
        "/apis/agents.x-k8s.io/v1beta1/namespaces/team-a/sandboxes/s1", method: "GET", bearer: reader.token)
      #expect(allowed.status == 200, "\(allowed)")
      #expect((allowed.json["metadata"] as? [String: String])?["name"] == "s1")
      let denied = try await f.request(
        "/apis/agents.x-k8s.io/v1beta1/namespaces/team-b/sandboxes/s1", method: "GET", bearer: reader.token)
      #expect(denied.status == 403)
      #expect(
        denied.json["message"] as? String
          == #"sandboxes.agents.x-k8s.io "s1" is forbidden: User "system:serviceaccount:team-a:reader" cannot get resource "sandboxes" in API group "agents.x-k8s.io" in the namespace "team-b""#
      )
      #expect(
        denied.json["details"] as? [String: String] == ["name": "s1", "group": "agents.x-k8s.io", "kind": "sandboxes"])
      #expect(f.emulator.count(of: RouteID("sandboxes.get")) == 2)
    }
  }

  @Test func executableServesTokensFromAFile() async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("exe-ca")
    let server = try await certificates.issueLoopbackServer("exe", signedBy: ca)
    let tokensFile = certificates.directory.file("tokens.json")
    try JSONEncoder().encode([F.reviewer, F.agent]).write(to: URL(fileURLWithPath: tokensFile))
    let process = try TestProcess.start(
      try BuiltProducts.executable("agentcube-kube-emulator"),
      ["--cert", server.certificate, "--key", server.key, "--tokens", tokensFile],
      outputPrefix: certificates.directory.file("emulator"))
    defer { _ = process }
    // Readiness: the program prints its URL once it listens (polled, bounded; it is another process).
    let url = try await withTimeout(.seconds(20), "the emulator's URL") {
      while true {
        if let line = process.stdout.split(separator: "\n").first(where: { $0.hasPrefix("https://") }) {
          return String(line)
        }
        guard process.isRunning else { return "" }
        try await Task.sleep(for: .milliseconds(20))
      }
    }
    #expect(url.hasPrefix("https://127.0.0.1:"), "\(process.stdout)\(process.stderr)")
    let headers = certificates.directory.file("headers")
    try "Authorization: Bearer \(F.reviewer.token)\nContent-Type: application/json".write(
      toFile: headers, atomically: true, encoding: .utf8)
    let body = certificates.directory.file("body")
    try F.review(F.agent.token, audiences: ["agentcube"]).write(toFile: body, atomically: true, encoding: .utf8)
    let result = try await TestProcess.run(
      F.curlPath,
      ["-sS", "--cacert", ca.certificate, "-H", "@\(headers)", "--data-binary", "@\(body)", url + F.reviewPath])
    #expect(result.exitCode == 0, "\(result)")
    let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    #expect((json?["status"] as? [String: Any])?["authenticated"] as? Bool == true, "\(result.stdout)")
    #expect(!process.stdout.contains(F.reviewer.token) && !process.stderr.contains(F.reviewer.token))
    try await process.kill()
  }

  @Test func executableServesConfiguredSandboxVersions() async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("exe-ca")
    let server = try await certificates.issueLoopbackServer("exe", signedBy: ca)
    let tokensFile = certificates.directory.file("tokens.json")
    try JSONEncoder().encode([F.admin]).write(to: URL(fileURLWithPath: tokensFile))
    let process = try TestProcess.start(
      try BuiltProducts.executable("agentcube-kube-emulator"),
      [
        "--cert", server.certificate, "--key", server.key, "--tokens", tokensFile, "--served-versions", "v1alpha1",
        "--no-controller",
      ],
      outputPrefix: certificates.directory.file("emulator"))
    let url = try await withTimeout(.seconds(20), "the emulator's URL") {
      while true {
        if let line = process.stdout.split(separator: "\n").first(where: { $0.hasPrefix("https://") }) {
          return String(line)
        }
        guard process.isRunning else { return "" }
        try await Task.sleep(for: .milliseconds(20))
      }
    }
    #expect(url.hasPrefix("https://127.0.0.1:"), "\(process.stdout)\(process.stderr)")
    let headers = certificates.directory.file("headers")
    try "Authorization: Bearer \(F.admin.token)\nContent-Type: application/json".write(
      toFile: headers, atomically: true, encoding: .utf8)
    let body = certificates.directory.file("body")
    try F.sandbox("s1", version: "v1alpha1").write(toFile: body, atomically: true, encoding: .utf8)
    let base = ["-sS", "--cacert", ca.certificate, "-H", "@\(headers)", "-o", "/dev/null", "-w", "%{http_code}"]
    let alpha = try await TestProcess.run(
      F.curlPath, base + ["--data-binary", "@\(body)", url + "/apis/agents.x-k8s.io/v1alpha1/namespaces/team-a/sandboxes"])
    #expect(alpha.stdout == "201", "\(alpha)")
    let beta = try await TestProcess.run(F.curlPath, base + [url + "/apis/agents.x-k8s.io/v1beta1/namespaces/team-a/sandboxes"])
    #expect(beta.stdout == "404", "\(beta)")
    let ended = try await process.stop(timeout: .seconds(10))
    #expect(ended.exitCode == 0, "\(ended)")
  }
}
