import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// A running emulator with a test CA, and the real `curl` to talk to it.
struct EmulatorFixture {
  static let curlPath = "/usr/bin/curl"
  static let reviewPath = "/apis/authentication.k8s.io/v1/tokenreviews"

  /// The server's own account: may create tokenreviews (as `system:auth-delegator` grants).
  static let reviewer = TokenRecord(
    token: "reviewer-secret-0001",
    user: .serviceAccount(namespace: "agentcube-system", name: "agentcube", uid: "uid-reviewer"),
    permissions: [.createTokenReviews])
  /// An account with no permissions at all.
  static let powerless = TokenRecord(
    token: "powerless-secret-0002", user: .serviceAccount(namespace: "ns", name: "name", uid: "uid-powerless"))
  /// A caller's projected token for audience `agentcube`.
  static let agent = TokenRecord(
    token: "agent-secret-0003",
    user: .serviceAccount(
      namespace: "team-a", name: "agent", uid: "uid-agent",
      extra: ["authentication.kubernetes.io/pod-name": ["agent-7f9c"]]),
    audiences: ["agentcube"])
  static let expiredAgent = TokenRecord(
    token: "expired-secret-0004", user: .serviceAccount(namespace: "team-a", name: "old", uid: "uid-old"),
    audiences: ["agentcube"], expired: true)

  let certificates: TestCertificates
  let ca: TestCertificates.Pair
  let server: TestCertificates.Pair
  let scratch: TemporaryDirectory
  let emulator: KubernetesEmulator
  /// How long `start` took, certificates excluded.
  let startup: Duration

  /// Runs `body` against a fresh emulator, stopped afterwards whatever happens.
  static func with<T>(
    tokens: [TokenRecord] = [reviewer, powerless, agent, expiredAgent], routes: [Route] = [],
    configure: (inout EmulatorConfiguration) -> Void = { _ in },
    _ body: (EmulatorFixture) async throws -> T
  ) async throws -> T {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("emulator-ca")
    let server = try await certificates.issueLoopbackServer("emulator", signedBy: ca)
    let scratch = try TemporaryDirectory(prefix: "acube-emu")
    defer { scratch.remove() }
    let clock = ContinuousClock()
    let started = clock.now
    var configuration = EmulatorConfiguration(
      certificatePath: server.certificate, privateKeyPath: server.key, tokens: tokens)
    configuration.routes = routes
    configure(&configuration)
    let emulator = try await KubernetesEmulator.start(configuration)
    let startup = clock.now - started
    let fixture = EmulatorFixture(
      certificates: certificates, ca: ca, server: server, scratch: scratch, emulator: emulator, startup: startup)
    do {
      let result = try await body(fixture)
      await emulator.stop()
      return result
    } catch {
      await emulator.stop()
      throw error
    }
  }

  /// A TokenReview request body for `token`.
  static func review(_ token: String, audiences: [String]? = nil) -> String {
    var spec: [String: Any] = ["token": token]
    if let audiences { spec["audiences"] = audiences }
    let object: [String: Any] = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec]
    // Only strings and arrays of strings: serialization cannot fail.
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
  }

  /// One `curl` invocation of `requests` (several: one invocation, so libcurl may reuse its connection).
  /// The bearer token and the body go through files, so no secret is on a command line or in a message.
  func curl(
    _ path: String = reviewPath, method: String = "POST", bearer: String? = reviewer.token, body: String? = nil,
    contentType: String = "application/json", repeat count: Int = 1
  ) async throws -> [CurlResult] {
    let id = UUID().uuidString
    let headerFile = scratch.file("\(id).headers")
    var headers = ["Content-Type: \(contentType)", "Accept: application/json"]
    if let bearer { headers.append("Authorization: Bearer \(bearer)") }
    try headers.joined(separator: "\n").write(toFile: headerFile, atomically: true, encoding: .utf8)
    var arguments = ["-sS", "--cacert", ca.certificate, "-X", method, "-H", "@\(headerFile)", "--max-time", "20"]
    if let body {
      let bodyFile = scratch.file("\(id).body")
      try body.write(toFile: bodyFile, atomically: true, encoding: .utf8)
      arguments += ["--data-binary", "@\(bodyFile)"]
    }
    arguments += ["-w", "%{http_code} %{num_connects} %{time_total}\\n"]
    for index in 0..<count {
      arguments += [
        "-D", scratch.file("\(id).\(index).head"), "-o", scratch.file("\(id).\(index).out"), emulator.url + path,
      ]
    }
    let run = try await TestProcess.run(Self.curlPath, arguments)
    let lines = run.stdout.split(separator: "\n")
    return (0..<count).map { index in
      let fields = index < lines.count ? lines[index].split(separator: " ") : []
      let head = (try? String(contentsOfFile: scratch.file("\(id).\(index).head"), encoding: .utf8)) ?? ""
      let out = (try? String(contentsOfFile: scratch.file("\(id).\(index).out"), encoding: .utf8)) ?? ""
      return CurlResult(
        exitCode: run.exitCode, stderr: run.stderr, status: fields.first.flatMap { Int($0) } ?? 0,
        connects: fields.count > 1 ? Int(fields[1]) ?? -1 : -1,
        seconds: fields.count > 2 ? Double(fields[2]) ?? 0 : 0, rawHeaders: head, body: out)
    }
  }

  /// A single request.
  func request(
    _ path: String = reviewPath, method: String = "POST", bearer: String? = reviewer.token, body: String? = nil,
    contentType: String = "application/json"
  ) async throws -> CurlResult {
    try await curl(path, method: method, bearer: bearer, body: body, contentType: contentType)[0]
  }

  /// A streaming `curl -N` (a watch), its output read while it runs; `raw` keeps the chunk framing.
  func stream(_ path: String, bearer: String, raw: Bool = false) throws -> TestProcess {
    let id = UUID().uuidString
    let headerFile = scratch.file("\(id).headers")
    try "Authorization: Bearer \(bearer)\nAccept: application/json".write(
      toFile: headerFile, atomically: true, encoding: .utf8)
    var arguments = ["-sS", "-N", "--cacert", ca.certificate, "-H", "@\(headerFile)", "--max-time", "30"]
    if raw { arguments.append("--raw") }
    return try TestProcess.start(Self.curlPath, arguments + [emulator.url + path], outputPrefix: scratch.file(id))
  }
}

/// What curl saw of one transfer.
struct CurlResult: CustomStringConvertible {
  var exitCode: Int32?
  var stderr: String
  var status: Int
  var connects: Int
  var seconds: Double
  var rawHeaders: String
  var body: String

  /// A response header's value (the last response's, names case-insensitive).
  func header(_ name: String) -> String? {
    for line in rawHeaders.split(whereSeparator: \.isNewline).reversed() {
      let parts = line.split(separator: ":", maxSplits: 1)
      if parts.count == 2, parts[0].lowercased() == name.lowercased() {
        return parts[1].trimmingCharacters(in: .whitespaces)
      }
    }
    return nil
  }

  var json: [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
  }

  var reviewStatus: [String: Any] { json["status"] as? [String: Any] ?? [:] }

  var description: String {
    "curl exit \(exitCode.map(String.init) ?? "signal"), HTTP \(status), connects \(connects)\n\(rawHeaders)\(body)\n\(stderr)"
  }
}

/// Sandboxes and watches in tests.
extension EmulatorFixture {
  static let sandboxes = "/apis/agents.x-k8s.io/v1beta1/namespaces/team-a/sandboxes"

  /// A token whose user may do `verbs` on sandboxes (and get/list pods) in `namespace` (`nil`: everywhere).
  static func account(_ name: String, namespace: String?, verbs: [String]) -> TokenRecord {
    var permissions = Set(verbs.map { Permission(verb: $0, group: "agents.x-k8s.io", resource: "sandboxes", namespace: namespace) })
    permissions.insert(Permission(verb: "get", group: "", resource: "pods", namespace: namespace))
    permissions.insert(Permission(verb: "list", group: "", resource: "pods", namespace: namespace))
    return TokenRecord(
      token: "\(name)-secret-\(UUID().uuidString.prefix(8))",
      user: .serviceAccount(namespace: namespace ?? "agentcube-system", name: name, uid: "uid-\(name)"),
      permissions: permissions)
  }

  static let admin = account("admin", namespace: nil, verbs: ["*"])

  /// A v1beta1 (or v1alpha1) Sandbox body.
  static func sandbox(
    _ name: String, image: String = "never-ready:1", labels: [String: String] = [:], sshKey: String? = nil,
    version: String = "v1beta1", extraSpec: [String: Any] = [:]
  ) -> String {
    var container: [String: Any] = ["name": "sandbox", "image": image]
    if let sshKey { container["env"] = [["name": "SSH_PUBLIC_KEY", "value": sshKey]] }
    var spec: [String: Any] = ["podTemplate": ["spec": ["containers": [container]]]]
    spec.merge(extraSpec) { $1 }
    var metadata: [String: Any] = ["labels": labels]
    if name.hasSuffix("-") { metadata["generateName"] = name } else { metadata["name"] = name }
    let object: [String: Any] = [
      "apiVersion": "agents.x-k8s.io/\(version)", "kind": "Sandbox", "metadata": metadata, "spec": spec,
    ]
    // Strings, numbers, booleans, arrays and dictionaries only: serialization cannot fail.
    return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
  }

  /// Waits until a watch's output has `count` lines; returns them parsed.
  static func lines(of process: TestProcess, count: Int, timeout: Duration = .seconds(10)) async throws -> [[String: Any]] {
    try await eventually(timeout, every: .milliseconds(20), "\(count) watch lines") {
      process.stdout.split(separator: "\n").count >= count || !process.isRunning
    }
    return process.stdout.split(separator: "\n").map {
      (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? ["unparsed": String($0)]
    }
  }
}

extension CurlResult {
  var metadata: [String: Any] { json["metadata"] as? [String: Any] ?? [:] }
  var resourceVersion: String { metadata["resourceVersion"] as? String ?? "" }
  var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
  var names: [String] { items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String } }
}
