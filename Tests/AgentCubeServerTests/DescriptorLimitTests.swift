import AgentCubeCore
import AgentCubeProtobuf
import AgentCubeTestSupport
import AgentCubeTransport
import NIOCore
import Testing

/// The daemon near its descriptor limit: connections over what the descriptors allow are refused
/// with the documented GOAWAY (not left unanswered in the backlog, as at EMFILE), and Health answers.
@Suite struct DescriptorLimitTests {
  /// `prlimit --nofile=512`: (512 − 256 reserved) / 2 descriptors per tunnel = 128 connections.
  static let descriptors = 512
  static let connections = 128

  @Test(
    "near its descriptor limit the daemon refuses one connection more with GOAWAY RESOURCE_EXHAUSTED and still answers Health"
  )
  func nearTheDescriptorLimit() async throws {
    var options = DaemonFixture.Options()
    options.descriptorLimit = Self.descriptors
    options.logLevel = "info"
    let fixture = try DaemonFixture(options: options)
    do {
      try await exercise(fixture)
    } catch {
      await fixture.tearDown()
      throw error
    }
    await fixture.tearDown()
  }

  private func exercise(_ fixture: DaemonFixture) async throws {
    let daemon = try await fixture.startDaemon()
    #expect(daemon.stderr.contains("connection limit lowered to fit the descriptor limit"))
    var open: [RawConnection] = []
    var refusal: WireGoAway?
    // Connections until one is refused; far more than fit, so a server that did not refuse fails here.
    while refusal == nil, open.count < 4 * Self.connections {
      let raw = try await RawConnection.connect(unixSocket: fixture.socketPath)
      try? await raw.sendPreface()  // a refusing server may be done with the connection already
      #expect(try await raw.readPreface(timeout: .seconds(20)) == .preface(version: 1))
      let first = try #require(try await raw.readFrame(timeout: .seconds(20)))
      if first.type == .goAway {
        refusal = try WireGoAway(payload: first.payload)
        await raw.close()
      } else {
        open.append(raw)
      }
    }
    #expect(refusal?.code == .resourceExhausted)
    #expect(
      refusal?.message.contains("the server's limit is \(Self.connections)") == true, "\(String(describing: refusal))")
    // The health checks of the start may not all have been closed yet on the server's side.
    #expect((Self.connections - 4...Self.connections).contains(open.count), "\(open.count) admitted")

    // At the limit, Health answers on a connection the client holds.
    var request = ByteBuffer()
    try request.writeFrame(
      type: .request, callID: 1,
      message: WireRequest(
        method: MethodDescriptor.Health.check.fullName, message: try HealthCheckRequest().protobufBytes()))
    try await open[0].send(request)
    let answer = try #require(try await open[0].readFrame(timeout: .seconds(20)))
    #expect(answer.type == .response && answer.callID == 1)
    #expect(try WireResponse(payload: answer.payload).code == .ok)

    // Places given back are given again: Health on a fresh connection.
    for raw in open { await raw.close() }
    try await eventually("Health on a fresh connection") {
      try await fixture.cli(["health"], token: .none, timeout: .seconds(10)).exitCode == 0
    }
    #expect(!daemon.stderr.contains("Too many open files"))
  }
}
