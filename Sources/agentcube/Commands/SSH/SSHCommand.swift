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
      -o HostKeyAlias=<session-id> -o UserKnownHostsFile=<file> -o GlobalKnownHostsFile=/dev/null \
      -o StrictHostKeyChecking=yes -o UpdateHostKeys=no [-i key] <ssh-user>@<session-id> [ARGS...]. \
      The host key is pinned: <file> is $XDG_CACHE_HOME/agentcube/known_hosts/<session-id> \
      (default ~/.cache/...), written with the host key the server reports for the session, so ssh \
      accepts that key only; ~/.ssh/known_hosts is neither read nor written. A session that reports \
      no host key is refused unless --insecure-ignore-host-key is given, which checks no key at all \
      (StrictHostKeyChecking=no, UserKnownHostsFile=/dev/null). The token reaches the ProxyCommand \
      through the environment (AGENTCUBE_TOKEN_FILE or AGENTCUBE_TOKEN), never its command line. \
      ARGS after -- follow the destination: ssh options (OpenSSH takes them there too), then the \
      remote command. --print writes the known-hosts file and prints the command line instead of \
      running it.
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

  @Flag(
    name: .customLong("insecure-ignore-host-key"),
    help: "Do not check the sandbox's SSH host key: ssh accepts any key (needed when the session reports none).")
  var insecureIgnoreHostKey = false

  @Argument(parsing: .postTerminator, help: ArgumentHelp("ssh options and the remote command.", valueName: "args"))
  var sshArguments: [String] = []

  func run() async throws {
    let session = try await options.withClient { client in
      try await client.sessions.getSession(.init(sessionID: id), options: options.callOptions()).session
    }
    let commandLine = SSHCommandLine(
      agentcube: Self.executablePath, tunnelOptions: tunnelOptions, identity: identity, user: session.sshUser,
      sessionID: session.id, hostKeyCheck: try hostKeyCheck(for: session), extraArguments: sshArguments)
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

  /// The session's host key pinned in a known-hosts file of its own; with --insecure-ignore-host-key,
  /// no check (and a warning).
  ///
  /// - Throws: `ValidationError` (a usage error) when the session reports no host key and the flag
  ///   is not given; the exit code of a local failure when the file cannot be written.
  private func hostKeyCheck(for session: Session) throws -> SSHHostKeyCheck {
    if insecureIgnoreHostKey {
      printNote("warning: --insecure-ignore-host-key: the sandbox's SSH host key is not checked")
      return .ignored
    }
    guard !session.sshHostPublicKey.isEmpty else {
      throw ValidationError(
        "session \(session.id) reports no SSH host key to check it against; pass --insecure-ignore-host-key"
          + " to log in without checking it")
    }
    do {
      let file = try SSHKnownHosts.write(sessionID: session.id, hostPublicKey: session.sshHostPublicKey)
      return .pinned(alias: session.id, knownHostsFile: file)
    } catch {
      throw ErrorReporter(redacting: nil).report(CommandError("cannot pin the session's SSH host key: \(error)"))
    }
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
    if let caFile = options.caFile { arguments += ["--ca-file", caFile] }
    if let clientCert = options.clientCert { arguments += ["--client-cert", clientCert] }
    if let clientKey = options.clientKey { arguments += ["--client-key", clientKey] }
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
