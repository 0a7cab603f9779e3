import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeTestSupport
import AgentCubeTransport
import Foundation
import Testing

/// TLS on the TCP listener, through real sockets and real certificates (made by `openssl`).
@Suite(.timeLimit(.minutes(10)))
struct TLSTests {
  /// A running TLS server of the test methods, its certificate files and the CA that signed them.
  struct Fixture {
    let server: RouterServer
    let certificates: TestCertificates
    let ca: TestCertificates.Pair
    let serverFiles: TestCertificates.Pair

    var port: Int { server.tcpPort! }

    /// Calls Echo over a new connection to tls://`host`:port; the answer, or the error thrown.
    func echo(
      host: String = "127.0.0.1", tls: ClientTLSConfiguration, method: MethodDescriptor = TestMethods.echo
    ) async throws -> String {
      let connection = try await ClientConnection.connect(
        to: .tls(host: host, port: port), configuration: .init(maxFrameSize: 1 << 20, connectTimeout: .seconds(10), tls: tls))
      do {
        let request = WireRequest(method: method.fullName, message: try HealthCheckRequest(service: "hello").protobufBytes())
        let response = try await connection.unary(request, deadline: .now + .seconds(10))
        await connection.close()
        guard response.code == .ok else { throw RPCError(code: response.code, message: response.statusMessage) }
        return try HealthCheckResponse(protobuf: response.message).version
      } catch {
        await connection.close()
        throw error
      }
    }

    func connectionsDrain() async throws {
      try await eventually("every connection closed") { server.transport.connectionCount == 0 }
    }
  }

  /// Starts a TLS server with a loopback certificate signed by a fresh CA (`clientCA` for mTLS).
  static func withServer(
    clientCA: ((TestCertificates) async throws -> TestCertificates.Pair)? = nil,
    _ body: (Fixture) async throws -> Void
  ) async throws {
    let certificates = try TestCertificates()
    defer { certificates.remove() }
    let ca = try await certificates.makeCA("server-ca")
    let issued = try await certificates.issueLoopbackServer("server", signedBy: ca)
    // The server reads its files from paths of their own, which rotation replaces.
    let serverFiles = TestCertificates.Pair(
      certificate: certificates.directory.file("live.pem"), key: certificates.directory.file("live.key"))
    try certificates.install(issued, at: serverFiles)
    let clientCAFile = try await clientCA?(certificates).certificate
    let probe = Probe()
    let server = try await RouterServer.start(transport: { configuration in
      configuration.tcp = ("127.0.0.1", 0)
      configuration.tls = ServerTLSConfiguration(
        certificateChainFile: serverFiles.certificate, privateKeyFile: serverFiles.key, clientCAFile: clientCAFile)
    }) { TestMethods.register(on: &$0, probe: probe) }
    let fixture = Fixture(server: server, certificates: certificates, ca: ca, serverFiles: serverFiles)
    do {
      try await body(fixture)
    } catch {
      await server.stop()
      throw error
    }
    await server.stop()
  }

  @Test func callsWorkOverTLSToAnIPAddressAndAHostName() async throws {
    try await Self.withServer { fixture in
      #expect(try await fixture.echo(tls: .init(caFile: fixture.ca.certificate)) == "hello")
      #expect(try await fixture.echo(host: "localhost", tls: .init(caFile: fixture.ca.certificate)) == "hello")
      // Without mutual TLS there is no client subject.
      #expect(try await fixture.echo(tls: .init(caFile: fixture.ca.certificate), method: TestMethods.tlsSubject) == "none")
      try await fixture.connectionsDrain()
    }
  }

  @Test func aServerCertificateFromAnotherCAIsRefused() async throws {
    try await Self.withServer { fixture in
      let otherCA = try await fixture.certificates.makeCA("other-ca")
      let error = try await #require(throws: RPCError.self) { try await fixture.echo(tls: .init(caFile: otherCA.certificate)) }
      #expect(error.code == .unavailable)
      #expect(error.message.contains("CERTIFICATE_VERIFY_FAILED"), "\(error.message)")
      #expect(!error.message.contains("BoringSSL") && !error.message.contains(".swift"), "\(error.message)")
      // The system's roots do not know the test CA either.
      await #expect(throws: RPCError.self) { try await fixture.echo(tls: .init()) }
      try await fixture.connectionsDrain()
    }
  }

  @Test func anExpiredServerCertificateIsRefused() async throws {
    try await Self.withServer { fixture in
      let expired = try await fixture.certificates.issueLoopbackServer("expired", signedBy: fixture.ca, expired: true)
      try fixture.certificates.install(expired, at: fixture.serverFiles)
      let error = try await #require(throws: RPCError.self) { try await fixture.echo(tls: .init(caFile: fixture.ca.certificate)) }
      #expect(error.code == .unavailable)
      #expect(error.message.contains("CERTIFICATE_VERIFY_FAILED"), "\(error.message)")
      try await fixture.connectionsDrain()
    }
  }

  @Test func aCertificateForAnotherHostIsRefused() async throws {
    try await Self.withServer { fixture in
      let elsewhere = try await fixture.certificates.issue(
        "elsewhere", subject: "/CN=elsewhere.example", dnsNames: ["elsewhere.example"], signedBy: fixture.ca)
      try fixture.certificates.install(elsewhere, at: fixture.serverFiles)
      let error = try await #require(throws: RPCError.self) { try await fixture.echo(tls: .init(caFile: fixture.ca.certificate)) }
      #expect(error.code == .unavailable)
      #expect(error.message.contains("not for this host"), "\(error.message)")
    }
  }

  @Test func rotatedFilesServeNewConnectionsWithoutARestart() async throws {
    try await Self.withServer { fixture in
      let before = ClientTLSConfiguration(caFile: fixture.ca.certificate)
      #expect(try await fixture.echo(tls: before) == "hello")
      let open = try await ClientConnection.connect(
        to: .tls(host: "127.0.0.1", port: fixture.port), configuration: .init(maxFrameSize: 1 << 20, connectTimeout: .seconds(10), tls: before))

      // The certificate manager replaces both files with ones from a new CA.
      let newCA = try await fixture.certificates.makeCA("new-ca")
      try fixture.certificates.install(try await fixture.certificates.issueLoopbackServer("rotated", signedBy: newCA), at: fixture.serverFiles)
      let after = ClientTLSConfiguration(caFile: newCA.certificate)
      #expect(try await fixture.echo(tls: after) == "hello")
      await #expect(throws: RPCError.self) { try await fixture.echo(tls: before) }

      // A half-done rotation (a key that is not the certificate's) keeps the last good pair.
      let stray = try await fixture.certificates.issueLoopbackServer("stray", signedBy: newCA)
      try FileManager.default.removeItem(atPath: fixture.serverFiles.key)
      try FileManager.default.copyItem(atPath: stray.key, toPath: fixture.serverFiles.key)
      #expect(try await fixture.echo(tls: after) == "hello")

      // The connection made before the rotation still works.
      let request = WireRequest(method: TestMethods.echo.fullName, message: try HealthCheckRequest(service: "still").protobufBytes())
      let response = try await open.unary(request, deadline: .now + .seconds(10))
      #expect(try HealthCheckResponse(protobuf: response.message).version == "still")
      await open.close()
    }
  }

  @Test func protocolsOlderThanTLS12AreRefused() async throws {
    try await Self.withServer { fixture in
      // SECLEVEL=0 lets this openssl offer TLS 1.1 at all, so only the server can refuse it.
      let old = try await TestProcess.run(
        "/usr/bin/openssl",
        ["s_client", "-connect", "127.0.0.1:\(fixture.port)", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile", fixture.ca.certificate])
      #expect(old.exitCode != 0, "\(old)")
      let current = try await TestProcess.run(
        "/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(fixture.port)", "-tls1_2", "-CAfile", fixture.ca.certificate])
      #expect(current.exitCode == 0, "\(current)")
      #expect(current.stdout.contains("Verify return code: 0 (ok)"), "\(current)")
      try await fixture.connectionsDrain()
    }
  }

  @Test func aPlainClientOnTheTLSListenerIsClosed() async throws {
    try await Self.withServer { fixture in
      let error = try await #require(throws: RPCError.self) {
        let connection = try await ClientConnection.connect(to: .tcp(host: "127.0.0.1", port: fixture.port))
        do {
          _ = try await connection.unary(WireRequest(method: TestMethods.echo.fullName), deadline: .now + .seconds(10))
        } catch {
          await connection.close()
          throw error
        }
        await connection.close()
      }
      #expect(error.code == .unavailable)
      try await fixture.connectionsDrain()
    }
  }

  @Test func mutualTLSPutsTheVerifiedSubjectInTheCallContext() async throws {
    var clientCA: TestCertificates.Pair?
    try await Self.withServer(clientCA: { certificates in
      let ca = try await certificates.makeCA("client-ca")
      clientCA = ca
      return ca
    }) { fixture in
      let clientCA = try #require(clientCA)
      let agent = try await fixture.certificates.issue("agent", subject: "/O=Example/CN=agent-1", signedBy: clientCA)
      let withCertificate = ClientTLSConfiguration(caFile: fixture.ca.certificate, certificateFile: agent.certificate, keyFile: agent.key)
      #expect(try await fixture.echo(tls: withCertificate, method: TestMethods.tlsSubject) == "CN=agent-1,O=Example")

      // No certificate, one from another CA, or an expired one: no call is served.
      let stranger = try await fixture.certificates.issue(
        "stranger", subject: "/CN=stranger", signedBy: try await fixture.certificates.makeCA("stranger-ca"))
      let expired = try await fixture.certificates.issue("late", subject: "/CN=late", signedBy: clientCA, expired: true)
      for tls in [
        ClientTLSConfiguration(caFile: fixture.ca.certificate),
        ClientTLSConfiguration(caFile: fixture.ca.certificate, certificateFile: stranger.certificate, keyFile: stranger.key),
        ClientTLSConfiguration(caFile: fixture.ca.certificate, certificateFile: expired.certificate, keyFile: expired.key),
      ] {
        let error = try await #require(throws: RPCError.self) { try await fixture.echo(tls: tls, method: TestMethods.tlsSubject) }
        #expect(error.code == .unavailable, "\(error)")
      }
      try await fixture.connectionsDrain()
    }
  }

  @Test func unusableClientFilesAreAClearError() async throws {
    try await Self.withServer { fixture in
      let missing = fixture.certificates.directory.file("missing.pem")
      let error = try await #require(throws: RPCError.self) { try await fixture.echo(tls: .init(caFile: missing)) }
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("CA file \(missing)"), "\(error.message)")
      let halfPair = try await #require(throws: RPCError.self) {
        try await fixture.echo(tls: .init(caFile: fixture.ca.certificate, certificateFile: fixture.ca.certificate))
      }
      #expect(halfPair.message.contains("both a certificate file and a key file"), "\(halfPair.message)")
    }
  }
}
