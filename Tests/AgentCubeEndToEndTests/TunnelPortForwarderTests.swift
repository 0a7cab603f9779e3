import AgentCube
import AgentCubeTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing

/// ``PortForwarder`` against the real server and the echo image (socat `cat` on port 7000).
@Suite(.timeLimit(.minutes(10)))
struct TunnelPortForwarderTests {
  @Test func bytesGoBothWaysWithBackPressureAndHalfClose() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      let session = try await client.sessions.createSession(.init(image: "echo", ttlSeconds: 120)).session
      try await withForwarder(client, sessionID: session.id) { port, _ in
        // More than the socket buffers on the way hold: the writer must wait for the reader.
        let payload = ByteBuffer(bytes: (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let echoed = try await exchange(port: port, payload, timeout: .seconds(60))
        #expect(echoed.readableBytes == payload.readableBytes)
        #expect(echoed == payload)
      }
    }
  }

  @Test func concurrentConnectionsGetTunnelsOfTheirOwn() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      let session = try await client.sessions.createSession(.init(image: "echo", ttlSeconds: 120)).session
      try await withForwarder(client, sessionID: session.id) { port, _ in
        try await withThrowingTaskGroup(of: Void.self) { group in
          for index in 0..<8 {
            group.addTask {
              let message = ByteBuffer(string: "connection \(index)\n")
              let echoed = try await exchange(port: port, message)
              #expect(echoed == message)
            }
          }
          try await group.waitForAll()
        }
      }
    }
  }

  @Test func aRefusedTunnelClosesItsConnectionAndIsReported() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      try await withForwarder(client, sessionID: UUID().uuidString.lowercased()) { port, errors in
        let echoed = try await exchange(port: port, ByteBuffer(string: "anyone there?\n"))
        #expect(echoed.readableBytes == 0)
        let reported = try await withTimeout(.seconds(20), "the connection's error") { await errors.first() }
        #expect(reported?.contains("NOT_FOUND") == true, "\(reported ?? "none")")
        // The forwarder goes on: the next connection is served (and refused) the same way.
        #expect(try await exchange(port: port, ByteBuffer(string: "again\n")).readableBytes == 0)
      }
    }
  }

  @Test func connectionsOverTheLimitAreClosedAtOnce() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      let session = try await client.sessions.createSession(.init(image: "echo", ttlSeconds: 120)).session
      let configuration = PortForwarder.Configuration(maxConnections: 1)
      try await withForwarder(client, sessionID: session.id, configuration: configuration) { port, errors in
        let first = try await TCPTestClient.connect(port: port)
        try await first.executeThenClose { inbound, outbound in
          try await outbound.write(ByteBuffer(string: "first\n"))
          try await withTimeout(.seconds(20), "the first connection") {
            for try await chunk in inbound {
              // The echo proves the first connection holds its tunnel, and so the one slot.
              #expect(chunk == ByteBuffer(string: "first\n"))
              let second = try await exchange(port: port, ByteBuffer(string: "second\n"))
              #expect(second.readableBytes == 0)
              let reported = await errors.first()
              #expect(reported?.contains("RESOURCE_EXHAUSTED") == true, "\(reported ?? "none")")
              outbound.finish()
            }
          }
        }
        // Once the first connection is gone, its slot is free again.
        try await eventually("a connection after the first one is served") {
          try await exchange(port: port, ByteBuffer(string: "third\n")) == ByteBuffer(string: "third\n")
        }
      }
    }
  }

  @Test func cancellingRunClosesListenerAndConnections() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      let session = try await client.sessions.createSession(.init(image: "echo", ttlSeconds: 120)).session
      let (listening, listener) = AsyncStream.makeStream(of: Int.self)
      let forwarder = PortForwarder(client: client, sessionID: session.id)
      let running = Task { try await forwarder.run(onListening: { listener.yield($0.port!) }) }
      let port = try #require(try await withTimeout(.seconds(20), "listening") { await listening.first() })
      let connection = try await TCPTestClient.connect(port: port)
      try await connection.executeThenClose { inbound, outbound in
        try await outbound.write(ByteBuffer(string: "before\n"))
        let received = try await withTimeout(.seconds(20), "the echo, then the end after cancel") {
          var received = ByteBuffer()
          for try await var chunk in inbound {
            received.writeBuffer(&chunk)
            // The connection is established end to end: stop the forwarder now.
            if received.readableBytes == 7 { running.cancel() }
          }
          return received
        }
        #expect(received == ByteBuffer(string: "before\n"))
      }
      try await withTimeout(.seconds(20), "run() to return") { _ = try? await running.value }
      #expect(!TCPProbe.accepts(address: "127.0.0.1", port: UInt16(port)), "still listening")
    }
  }

  @Test func aTakenPortFailsRun() async throws {
    try await TestServer.with { server in
      let client = server.client(token: TestServer.Token.alice)
      try await withForwarder(client, sessionID: UUID().uuidString.lowercased()) { port, _ in
        let second = PortForwarder(client: client, sessionID: "unused", configuration: .init(port: port))
        await #expect(throws: (any Error).self) {
          try await withTimeout(.seconds(20), "binding a taken port") { try await second.run() }
        }
      }
    }
  }
}

/// Runs a forwarder for the duration of `body`, with its port and the errors it reports.
private func withForwarder<T: Sendable>(
  _ client: AgentCubeClient, sessionID: String, configuration: PortForwarder.Configuration = .defaults,
  _ body: (Int, AsyncStream<String>) async throws -> T
) async throws -> T {
  let (listening, listener) = AsyncStream.makeStream(of: Int.self)
  let (errors, reporter) = AsyncStream.makeStream(of: String.self)
  let forwarder = PortForwarder(client: client, sessionID: sessionID, configuration: configuration)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask {
      try await forwarder.run(
        onListening: { listener.yield($0.port!) }, onConnectionError: { _, error in reporter.yield("\(error)") })
    }
    defer { group.cancelAll() }
    let port = try #require(try await withTimeout(.seconds(20), "the forwarder to listen") { await listening.first() })
    #expect(port > 0)
    return try await body(port, errors)
  }
}

/// Connects to `port`, sends `payload`, half-closes, and returns everything received until the end.
private func exchange(port: Int, _ payload: ByteBuffer, timeout: Duration = .seconds(30)) async throws -> ByteBuffer {
  try await withTimeout(timeout, "an exchange through port \(port)") {
    let connection = try await TCPTestClient.connect(port: port)
    return try await connection.executeThenClose { inbound, outbound in
      try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
        group.addTask {
          // Written in slices so that back-pressure applies between them.
          var rest = payload
          while let slice = rest.readSlice(length: min(64 * 1024, rest.readableBytes)), slice.readableBytes > 0 {
            try await outbound.write(slice)
          }
          outbound.finish()
          return nil
        }
        group.addTask { try await inbound.collect() }
        var received = ByteBuffer()
        while let result = try await group.next() {
          if let result { received = result }
        }
        return received
      }
    }
  }
}

extension AsyncStream {
  /// The first element, or `nil` when the stream ends (or the task is cancelled) first.
  fileprivate func first() async -> Element? {
    for await element in self { return element }
    return nil
  }
}
