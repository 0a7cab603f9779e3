import AgentCube
import ArgumentParser

extension SessionCommand {
  /// `agentcube session get <id>`.
  struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one session.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "The session's id.")
    var id: String

    func run() async throws {
      try await options.withClient { client in
        let response = try await client.sessions.getSession(.init(sessionID: id), options: options.callOptions())
        try SessionCommand.printSession(response.session, json: options.json)
      }
    }
  }
}
