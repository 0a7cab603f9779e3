import Foundation

/// Certificates for TLS tests, made by the `openssl` command in a temp directory: CAs, and
/// certificates they sign, valid or already expired.
public struct TestCertificates: Sendable {
  /// A certificate and its key, as PEM files.
  public struct Pair: Sendable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
      self.certificate = certificate
      self.key = key
    }
  }

  /// Thrown when `openssl` fails; holds what it printed.
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  public let directory: TemporaryDirectory

  public init() throws { directory = try TemporaryDirectory(prefix: "acube-tls") }

  /// A self-signed CA named `name`.
  public func makeCA(_ name: String) async throws -> Pair {
    let pair = Pair(certificate: directory.file("\(name).pem"), key: directory.file("\(name).key"))
    try await openssl([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", pair.key,
      "-out", pair.certificate, "-subj", "/CN=\(name)", "-days", "2",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ])
    return pair
  }

  /// A certificate for `subject` ("/O=Example/CN=agent-1") signed by `ca`, naming `dnsNames` and
  /// `ipAddresses`; valid for a day, or expired since yesterday when `expired`.
  public func issue(
    _ name: String, subject: String, dnsNames: [String] = [], ipAddresses: [String] = [], signedBy ca: Pair,
    expired: Bool = false
  ) async throws -> Pair {
    let pair = Pair(certificate: directory.file("\(name).pem"), key: directory.file("\(name).key"))
    let request = directory.file("\(name).csr")
    let extensions = directory.file("\(name).ext")
    let names = dnsNames.map { "DNS:\($0)" } + ipAddresses.map { "IP:\($0)" }
    var lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=serverAuth,clientAuth"]
    if !names.isEmpty { lines.append("subjectAltName=\(names.joined(separator: ","))") }
    try lines.joined(separator: "\n").write(toFile: extensions, atomically: true, encoding: .utf8)
    try await openssl([
      "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", pair.key,
      "-out", request, "-subj", subject,
    ])
    // A negative -days puts notAfter before now: an expired certificate.
    try await openssl([
      "x509", "-req", "-in", request, "-CA", ca.certificate, "-CAkey", ca.key, "-CAcreateserial",
      "-days", expired ? "-1" : "1", "-extfile", extensions, "-out", pair.certificate,
    ])
    return pair
  }

  /// A server certificate for loopback (127.0.0.1, ::1, localhost) signed by `ca`.
  public func issueLoopbackServer(_ name: String, signedBy ca: Pair, expired: Bool = false) async throws -> Pair {
    try await issue(
      name, subject: "/CN=\(name)", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"], signedBy: ca,
      expired: expired)
  }

  /// Puts `pair`'s files at `target`'s paths by rename, as a certificate manager rotates them.
  public func install(_ pair: Pair, at target: Pair) throws {
    for (from, to) in [(pair.certificate, target.certificate), (pair.key, target.key)] {
      let staged = to + ".new"
      try? FileManager.default.removeItem(atPath: staged)
      try FileManager.default.copyItem(atPath: from, toPath: staged)
      guard rename(staged, to) == 0 else { throw Failure(description: "cannot rename \(staged) to \(to)") }
    }
  }

  public func remove() { directory.remove() }

  private func openssl(_ arguments: [String]) async throws {
    let result = try await TestProcess.run("/usr/bin/openssl", arguments)
    guard result.exitCode == 0 else { throw Failure(description: result.description) }
  }
}
