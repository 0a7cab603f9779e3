import Foundation
import Testing

@testable import AgentCubeKubernetes

/// Finding the API server and credentials as client-go does, from real files in a temp directory.
@Suite struct KubernetesConnectionTests {
  let directory: String

  init() throws {
    directory = NSTemporaryDirectory() + "acube-kubeconfig-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
  }

  func write(_ name: String, _ text: String) throws -> String {
    let path = "\(directory)/\(name)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func config(server: String = "https://127.0.0.1:6443", user: String, current: String? = "dev", extraUsers: String = "") -> String {
    """
    apiVersion: v1
    kind: Config
    clusters:
    - name: local
      cluster:
        server: \(server)
        certificate-authority: ca.pem
    users:
    - name: me
      user:
    \(user)
    \(extraUsers)
    contexts:
    - name: dev
      context: {cluster: local, user: me, namespace: team-a}
    \(current.map { "current-context: \($0)" } ?? "")
    """
  }

  @Test func aTokenFileIsReadAgainForEveryRequestAndPathsAreRelativeToTheFile() throws {
    _ = try write("ca.pem", "CA PEM")
    let tokenFile = try write("token", "first-token\n")
    let path = try write("config", config(user: "    tokenFile: token"))
    let connection = try KubernetesConnection.resolve(kubeconfig: path, context: nil, environment: [:])
    #expect(connection.server == "https://127.0.0.1:6443")
    #expect(connection.tls.certificateAuthority == Array("CA PEM".utf8))
    #expect(connection.namespace == "team-a")
    #expect(try connection.token() == "first-token")
    try "rotated-token".write(toFile: tokenFile, atomically: true, encoding: .utf8)
    #expect(try connection.token() == "rotated-token")
    #expect(!connection.source.contains("token"), "the source names files, never a credential")
  }

  @Test func dataFieldsAndAClientCertificate() throws {
    let ca = Data("CA".utf8).base64EncodedString()
    let certificate = Data("CERT".utf8).base64EncodedString()
    let key = Data("KEY".utf8).base64EncodedString()
    let text = """
      clusters:
      - name: local
        cluster: {server: "https://10.0.0.1:443", certificate-authority-data: \(ca)}
      users:
      - name: me
        user: {client-certificate-data: \(certificate), client-key-data: \(key)}
      contexts:
      - name: dev
        context: {cluster: local, user: me}
      current-context: dev
      """
    let connection = try KubernetesConnection.resolve(kubeconfig: try write("config", text), context: nil, environment: [:])
    #expect(connection.tls.certificateAuthority == Array("CA".utf8))
    #expect(connection.tls.clientCertificate == Array("CERT".utf8) && connection.tls.clientKey == Array("KEY".utf8))
    #expect(try connection.token() == nil)
  }

  @Test func aKUBECONFIGListMergesWithTheFirstFileWinning() throws {
    _ = try write("ca.pem", "CA")
    let first = try write("first", config(user: "    token: from-first", current: nil))
    let second = try write(
      "second",
      config(server: "https://second:6443", user: "    token: from-second", current: "dev"))
    let connection = try KubernetesConnection.resolve(
      kubeconfig: nil, context: nil, environment: ["KUBECONFIG": "\(first):\(directory)/missing:\(second)"])
    #expect(connection.server == "https://127.0.0.1:6443", "the first file's cluster wins")
    #expect(try connection.token() == "from-first")
  }

  @Test func contextFlagAndItsErrors() throws {
    _ = try write("ca.pem", "CA")
    let path = try write("config", config(user: "    token: t", current: nil))
    #expect(throws: KubernetesConfigurationError.self) { try KubernetesConnection.resolve(kubeconfig: path, context: nil, environment: [:]) }
    #expect(try KubernetesConnection.resolve(kubeconfig: path, context: "dev", environment: [:]).namespace == "team-a")
    let error = try #require(throws: KubernetesConfigurationError.self) {
      try KubernetesConnection.resolve(kubeconfig: path, context: "prod", environment: [:])
    }
    #expect(error.description.contains("no context 'prod'"))
  }

  @Test func unsupportedAuthenticationIsRefusedByName() throws {
    _ = try write("ca.pem", "CA")
    for (user, name) in [("    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}", "exec plugin"),
                         ("    auth-provider: {name: gcp}", "auth-provider")] {
      let path = try write("config", config(user: user))
      let error = try #require(throws: KubernetesConfigurationError.self) {
        try KubernetesConnection.resolve(kubeconfig: path, context: nil, environment: [:])
      }
      #expect(error.description.contains(name), "\(error)")
    }
  }

  @Test func insecureSkipTLSVerifyNeedsTheExplicitFlag() throws {
    let text = """
      clusters:
      - name: local
        cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
      users: [{name: me, user: {token: t}}]
      contexts: [{name: dev, context: {cluster: local, user: me}}]
      current-context: dev
      """
    let path = try write("config", text)
    let error = try #require(throws: KubernetesConfigurationError.self) {
      try KubernetesConnection.resolve(kubeconfig: path, context: nil, environment: [:])
    }
    #expect(error.description.contains("insecure-skip-tls-verify"))
    #expect(try KubernetesConnection.resolve(kubeconfig: path, context: nil, allowInsecure: true, environment: [:]).tls.insecureSkipVerify)
  }

  @Test func inAPodTheMountedServiceAccount() throws {
    let account = directory + "/serviceaccount"
    try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
    try "pod-token-1".write(toFile: account + "/token", atomically: true, encoding: .utf8)
    try "CLUSTER CA".write(toFile: account + "/ca.crt", atomically: true, encoding: .utf8)
    try "agents\n".write(toFile: account + "/namespace", atomically: true, encoding: .utf8)
    let connection = try KubernetesConnection.resolve(
      kubeconfig: nil, context: nil,
      environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
      serviceAccountDirectory: account)
    #expect(connection.server == "https://10.96.0.1:443")
    #expect(connection.namespace == "agents")
    #expect(connection.tls.certificateAuthority == Array("CLUSTER CA".utf8))
    #expect(try connection.token() == "pod-token-1")
    try "pod-token-2".write(toFile: account + "/token", atomically: true, encoding: .utf8)
    #expect(try connection.token() == "pod-token-2", "projected tokens rotate: read again")
  }
}
