import AgentCube
import ArgumentParser
import Foundation

/// `agentcube session`: the group of session commands.
struct SessionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "session",
    abstract: "Create, inspect, renew and delete sessions.",
    discussion: """
      With --json, get, create and renew print the session; list prints {"sessions": [...], "next_page_token": ...}.
      Session fields use the protocol's snake_case names; times are *_ms (Unix milliseconds) plus \
      RFC 3339 strings, null when unset.
      """,
    subcommands: [Create.self, Get.self, List.self, Renew.self, Delete.self]
  )
}

extension SessionCommand {
  /// Prints one session as `--json` or as aligned fields.
  static func printSession(_ session: Session, json: Bool) throws {
    if json {
      try printJSON(SessionJSON(session: session))
    } else {
      printFields(session.fields(now: Date()))
    }
  }
}
