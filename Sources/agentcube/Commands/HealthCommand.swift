import AgentCube
import ArgumentParser

/// `agentcube health`: whether the server serves, its version and backend. Needs no token.
struct HealthCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "health",
    abstract: "Check that the server serves.",
    discussion: "Exits 0 when the server is serving and 1 when it answers that it is not."
  )

  @OptionGroup var options: ClientOptions

  func run() async throws {
    try await options.withClient { client in
      let response = try await client.health.check(options: options.callOptions())
      if options.json {
        try printJSON(HealthJSON(response))
      } else {
        let isolation = response.isolationMessage.isEmpty ? "" : " (\(response.isolationMessage))"
        printFields([
          ("status", response.status.name), ("version", response.version), ("backend", response.backend),
          ("isolated", (response.isolated ? "yes" : "no") + isolation),
        ])
      }
      guard response.status == .serving else { throw ExitCodes.localFailure }
    }
  }
}

/// `health --json`: the response's proto field names, the status as its lower-case name.
private struct HealthJSON: Encodable {
  let status: String
  let version: String
  let backend: String
  let isolated: Bool
  let isolationMessage: String

  init(_ response: HealthCheckResponse) {
    status = response.status.name
    version = response.version
    backend = response.backend
    isolated = response.isolated
    isolationMessage = response.isolationMessage
  }

  private enum CodingKeys: String, CodingKey {
    case status, version, backend, isolated
    case isolationMessage = "isolation_message"
  }
}

extension HealthCheckResponse.ServingStatus {
  /// `serving`, `not_serving` or `unknown`.
  var name: String {
    switch self {
    case .unknown: "unknown"
    case .serving: "serving"
    case .notServing: "not_serving"
    }
  }
}
