import AgentCube
import ArgumentParser

/// `agentcube`: sandbox sessions on an AgentCube server, from the shell.
@main
struct AgentCubeCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agentcube",
    abstract: "Create and manage AgentCube sandbox sessions.",
    discussion: """
      Every command calls one server: --server, else $AGENTCUBE_SERVER, else \(ClientOptions.defaultServer).
      The bearer token comes from --token or --token-file, else $AGENTCUBE_TOKEN or $AGENTCUBE_TOKEN_FILE. \
      Prefer a token file or the environment: other users can see command-line arguments.
      Results go to stdout (one JSON object with --json); errors go to stderr as text.

      \(ExitCodes.helpText)
      """,
    subcommands: [
      HealthCommand.self, SessionCommand.self, TunnelCommand.self, PortForwardCommand.self, SSHCommand.self,
    ]
  )
}
