import AgentCube
import ArgumentParser

extension SessionCommand {
  /// `agentcube session delete <id>`.
  struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "End a session and its sandbox.",
      discussion: #"With --json, prints {"session_id": "<id>", "deleted": true}."#
    )

    @OptionGroup var options: ClientOptions

    @Argument(help: "The session's id.")
    var id: String

    func run() async throws {
      try await options.withClient { client in
        _ = try await client.sessions.deleteSession(.init(sessionID: id), options: options.callOptions())
        if options.json {
          try printJSON(DeletedJSON(sessionID: id, deleted: true))
        } else {
          print("deleted session \(id)")
        }
      }
    }
  }
}

/// `session delete --json`.
private struct DeletedJSON: Encodable {
  let sessionID: String
  let deleted: Bool

  private enum CodingKeys: String, CodingKey {
    case sessionID = "session_id"
    case deleted
  }
}
