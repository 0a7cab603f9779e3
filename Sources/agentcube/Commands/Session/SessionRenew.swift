import AgentCube
import ArgumentParser

extension SessionCommand {
  /// `agentcube session renew <id> --ttl SECONDS`.
  struct Renew: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Set a session's TTL anew, counted from now.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The session's id.")
    var id: String

    @Option(help: ArgumentHelp("The new TTL in seconds, within the server's bounds.", valueName: "seconds"))
    var ttl: UInt32

    func validate() throws {
      guard ttl > 0 else { throw ValidationError("--ttl must be at least 1 second") }
    }

    func run() async throws {
      try await options.withClient { client in
        let request = RenewSessionRequest(sessionID: id, ttlSeconds: ttl)
        let response = try await client.sessions.renewSession(request, options: options.callOptions())
        try SessionCommand.printSession(response.session, json: options.json)
      }
    }
  }
}
