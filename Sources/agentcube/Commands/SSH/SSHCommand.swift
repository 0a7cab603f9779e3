import AgentCube
import ArgumentParser
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// `agentcube ssh <id>`: OpenSSH into a session's sandbox, through `agentcube tunnel`.
struct SSHCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ssh",
    abstract: "Log in to a session's sandbox with OpenSSH.",
    discussion: """
      Looks the session up and runs ssh -o ProxyCommand='<this agentcube> tunnel [--server ...] %h' \
      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null [-i key] <ssh-user>@<session-id> [ARGS...]. \
      Host keys are not checked: every sandbox makes its own. The token reaches the ProxyCommand \
      through the environment (AGENTCUBE_TOKEN_FILE or AGENTCUBE_TOKEN), never its command line. \
      ARGS after -- follow the destination: ssh options (OpenSSH takes them there too), then the \
      remote command. --print prints the command line instead of running it.
      """
  )

  @OptionGroup var options: ClientOptions

  @Argument(help: "The session's id.")
  var id: String

  @Option(
    name: [.customShort("i"), .customLong("identity")],
    help: ArgumentHelp("The private key to log in with (ssh -i).", valueName: "path"))
  var identity: String?

  @Flag(name: .customLong("print"), help: "Print the ssh command line instead of running it.")
  var printOnly = false

  @Argument(parsing: .postTerminator, help: ArgumentHelp("ssh options and the remote command.", valueName: "args"))
  var sshArguments: [String] = []

  func run() async throws {
    let session = try await options.withClient { client in
      try await client.sessions.getSession(.init(sessionID: id), options: options.callOptions()).session
    }
    let commandLine = SSHCommandLine(
      agentcube: Self.executablePath, tunnelOptions: tunnelOptions, identity: identity, user: session.sshUser,
      sessionID: session.id, extraArguments: sshArguments)
    let token = tokenForTunnel
    if printOnly {
      switch token {
      case .inherited: print(ShellQuoting.join(commandLine.arguments))
      case .file(let path):
        print("AGENTCUBE_TOKEN_FILE=\(ShellQuoting.quote(path)) " + ShellQuoting.join(commandLine.arguments))
      case .literal:
        print(ShellQuoting.join(commandLine.arguments))
        printNote("note: the tunnel needs the token: set AGENTCUBE_TOKEN or AGENTCUBE_TOKEN_FILE where you run this")
      }
      return
    }
    switch token {
    case .inherited: break
    case .file(let path):
      setenv("AGENTCUBE_TOKEN_FILE", path, 1)
      unsetenv("AGENTCUBE_TOKEN")
    case .literal(let literal):
      setenv("AGENTCUBE_TOKEN", literal, 1)
      unsetenv("AGENTCUBE_TOKEN_FILE")
    }
    throw ErrorReporter(redacting: nil).report(Self.execute(commandLine.arguments))
  }

  /// How the ProxyCommand gets the token: never on its command line.
  private enum TunnelToken {
    /// From this process's environment, as it is (or no token).
    case inherited
    /// --token-file, as an absolute path in AGENTCUBE_TOKEN_FILE (a path is no secret: --print shows it).
    case file(String)
    /// --token, in AGENTCUBE_TOKEN (never printed).
    case literal(String)
  }

  private var tokenForTunnel: TunnelToken {
    if let path = options.tokenFile {
      return .file(URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).path)
    }
    if let token = options.token { return .literal(token.trimmingCharacters(in: .whitespacesAndNewlines)) }
    return .inherited
  }

  /// Options of the ProxyCommand's `agentcube tunnel`: what the command line gave, except the token.
  private var tunnelOptions: [String] {
    var arguments: [String] = []
    if let server = options.server { arguments += ["--server", server] }
    if let timeout = options.timeout { arguments += ["--timeout", String(timeout)] }
    return arguments
  }

  /// This agentcube executable, for the ProxyCommand.
  private static var executablePath: String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  }

  /// Replaces this process with `arguments` (found on PATH); returns only on failure.
  private static func execute(_ arguments: [String]) -> CommandError {
    let argv = arguments.map { strdup($0) } + [nil]
    execvp(arguments[0], argv)
    let reason = String(cString: strerror(errno))
    for pointer in argv { free(pointer) }
    return CommandError("cannot run \(arguments[0]): \(reason)")
  }
}
