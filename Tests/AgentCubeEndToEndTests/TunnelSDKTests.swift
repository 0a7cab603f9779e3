import AgentCube
import AgentCubeTestSupport
import Foundation
import NIOCore
import Testing

/// The SDK's tunnel against a sandbox whose server speaks first.
@Suite(.timeLimit(.minutes(10)))
struct TunnelSDKTests {
  static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@test"

  /// sshd's version line, then (after the client's) its KEXINIT: the sandbox side is read more than once.
  @Test(.enabled(if: geteuid() == 0, "the OpenSSH image needs root"))
  func sshdAnswersThroughTheTunnel() async throws {
    try await TestServer.with { server in
      let alice = server.client(token: TestServer.Token.alice).sessions
      let session = try await alice.createSession(.init(image: "default", ttlSeconds: 120, sshPublicKey: Self.key))
        .session
      let received = try await alice.withTunnel(sessionID: session.id) { tunnel in
        // Like OpenSSH's client, send the version line at once (then no answer waits on another).
        try await tunnel.outbound.write(ByteBuffer(string: "SSH-2.0-agentcube-test\r\n"))
        return try await withTimeout(.seconds(20), "sshd's version line and KEXINIT") {
          var received = ByteBuffer()
          for try await var chunk in tunnel.inbound {
            received.writeBuffer(&chunk)
            // Version line, then a binary packet: length (4), padding length (1), SSH_MSG_KEXINIT (20).
            if let end = received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")),
              received.readableBytesView[(end + 1)...].count >= 6
            {
              break
            }
          }
          return received
        }
      }
      let text = String(buffer: received)
      #expect(text.hasPrefix("SSH-2.0-OpenSSH"), "\(text)")
      let packet = received.readableBytesView.drop { $0 != UInt8(ascii: "\n") }.dropFirst()
      #expect(packet.dropFirst(5).first == 20, "KEXINIT after the version line: \(Array(packet.prefix(8)))")
    }
  }

  /// Bytes that arrive in the same read as the OK answer reach `inbound` before the client sends anything.
  @Test func bytesThatCameWithTheAnswerArriveAtOnce() async throws {
    try await ScriptedTunnelServer.with(greeting: "hello first\n") { target in
      let client = AgentCubeClient(target: target, token: .token("unused"))
      defer { Task { await client.close() } }
      try await client.sessions.withTunnel(sessionID: UUID().uuidString.lowercased()) { tunnel in
        #expect(tunnel.target == "scripted:1")
        // One reader for the whole stream (it allows one iterator); it says when the greeting is in.
        let (greeted, greetedContinuation) = AsyncStream.makeStream(of: Void.self)
        try await withThrowingTaskGroup(of: String.self) { group in
          group.addTask {
            // Outlasts the greeting's wait below: only a tunnel that never ends trips it.
            try await withTimeout(.seconds(40), "the tunnel's end") {
              var received = ""
              for try await chunk in tunnel.inbound {
                received += String(buffer: chunk)
                if received.hasPrefix("hello first\n") { greetedContinuation.yield() }
              }
              return received
            }
          }
          try await withTimeout(.seconds(20), "the greeting, with nothing sent") {
            for await _ in greeted { return }
          }
          // Once anything else arrives, the greeting comes out first.
          try await tunnel.outbound.write(ByteBuffer(string: "ping\n"))
          tunnel.outbound.finish()
          let received = try await group.next()
          #expect(received == "hello first\nping\n")
        }
      }
    }
  }
  /// A keepalive PING the server sent before it read the OpenTunnel request gets no ACK: after the
  /// request every byte the client sends is tunnel data, and an ACK would reach the sandbox.
  @Test func aPingBeforeTheTunnelAnswerIsNotAnsweredIntoTheTunnel() async throws {
    try await ScriptedTunnelServer.with(greeting: "", pingFirst: true) { target in
      let client = AgentCubeClient(target: target, token: .token("unused"))
      defer { Task { await client.close() } }
      let echoed = try await client.sessions.withTunnel(sessionID: UUID().uuidString.lowercased()) { tunnel in
        try await tunnel.outbound.write(ByteBuffer(string: "only this\n"))
        tunnel.outbound.finish()
        return try await withTimeout(.seconds(20), "the tunnel's end") {
          var received = ByteBuffer()
          for try await var chunk in tunnel.inbound { received.writeBuffer(&chunk) }
          return Array(received.readableBytesView)
        }
      }
      #expect(echoed == Array("only this\n".utf8), "the sandbox saw \(echoed.count) bytes")
    }
  }
}
