import AgentCube
import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `agentcube port-forward <id> [LOCAL:]REMOTE`: a local TCP port forwarded to a sandbox port.
struct PortForwardCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "port-forward",
    abstract: "Forward a local TCP port to a port of a session's sandbox.",
    discussion: """
      LOCAL:REMOTE listens on LOCAL; REMOTE alone, :REMOTE or 0:REMOTE listen on a free local port. \
      Once listening it prints "Forwarding from <address>:<port> -> <REMOTE>" on stderr. Every \
      connection gets a tunnel of its own; a failed one is reported on stderr and closed. Runs until \
      SIGINT or SIGTERM, then exits 0.
      """
  )

  @OptionGroup var options: ClientOptions

  @Argument(help: "The session's id.")
  var id: String

  @Argument(help: ArgumentHelp("The local and the sandbox port.", valueName: "[local:]remote"))
  var ports: PortMapping

  @Option(help: ArgumentHelp("The local address to listen on.", valueName: "address"))
  var address = PortForwarder.Configuration.defaults.host

  func run() async throws {
    let token = try options.tokenSource()
    try await options.withClient { client in
      // Fail fast on a wrong id or token, before anyone connects.
      _ = try await client.sessions.getSession(.init(sessionID: id), options: options.callOptions())
      let forwarder = PortForwarder(
        client: client, sessionID: id, remotePort: ports.remote,
        configuration: .init(host: address, port: ports.local, tunnelOptions: options.callOptions()))
      let remote = ports.remote
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
          try await forwarder.run(
            onListening: { printNote("Forwarding from \($0.hostAndPort) -> \(remote)") },
            onConnectionError: { peer, error in
              var message = "connection from \(peer?.hostAndPort ?? "unknown peer"): \(error)"
              if let literal = token.literal { message = message.replacing(literal, with: "<redacted>") }
              printError(message)
            })
        }
        group.addTask { _ = await waitForSignal([SIGINT, SIGTERM]) }
        // Either the forwarder failed (e.g. the port is taken) or a signal came: stop the other.
        try await group.next()
        group.cancelAll()
      }
    }
  }
}
