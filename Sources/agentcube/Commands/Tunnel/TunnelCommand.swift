import AgentCube
import ArgumentParser

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `agentcube tunnel <id>`: standard input and output joined to a port of a session's sandbox.
struct TunnelCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tunnel",
    abstract: "Join standard input and output to a port of a session's sandbox.",
    discussion: """
      Made for OpenSSH: ssh -o ProxyCommand='agentcube tunnel %h' root@<session-id> (or use agentcube ssh).
      Standard output carries the sandbox's bytes and nothing else; errors go to stderr. End of input \
      half-closes the tunnel; the sandbox closing its side closes standard output. Exits 0 once both \
      directions have ended. Standard input and output must be pipes, sockets or terminals.
      """
  )

  @OptionGroup var options: ClientOptions

  @Argument(help: "The session's id.")
  var id: String

  @Option(help: ArgumentHelp("The sandbox port (default: the session's SSH port).", valueName: "port"))
  var port: UInt32?

  func validate() throws {
    if let port, !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
  }

  func run() async throws {
    // A reader that goes away makes writes fail with EPIPE (an error on stderr) instead of killing us.
    signal(SIGPIPE, SIG_IGN)
    try await options.withClient { client in
      try await client.sessions.withTunnel(sessionID: id, port: port ?? 0, options: options.callOptions()) { tunnel in
        try await StandardStreams.splice(with: tunnel)
      }
    }
  }
}
