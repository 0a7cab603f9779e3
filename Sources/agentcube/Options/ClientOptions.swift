import AgentCube
import ArgumentParser
import Foundation

/// Options of every command that calls the server: where it is, the token, the timeout, the output format.
struct ClientOptions: ParsableArguments {
  /// The server when neither --server nor $AGENTCUBE_SERVER names one: agentcubed's default socket.
  static let defaultServer = "unix:/tmp/agentcube/agentcube.sock"
  /// The longest --timeout accepted, in seconds (one day).
  static let maxTimeoutSeconds = 86_400.0

  @Option(
    help: ArgumentHelp(
      "The server: unix:PATH, PATH, HOST:PORT or tls://HOST:PORT (env AGENTCUBE_SERVER; default \(defaultServer)).",
      valueName: "target"))
  var server: String?

  // No default value: ArgumentParser would print it in --help.
  @Option(help: "The bearer token (env AGENTCUBE_TOKEN). Visible to other users; prefer --token-file.")
  var token: String?

  @Option(
    help: ArgumentHelp(
      "A file holding the bearer token, re-read when it changes (env AGENTCUBE_TOKEN_FILE).", valueName: "path"))
  var tokenFile: String?

  @Option(
    help: ArgumentHelp(
      "PEM file of the CAs that sign a tls:// server's certificate (env AGENTCUBE_CA_FILE; default: the system's).",
      valueName: "path"))
  var caFile: String?

  @Option(
    help: ArgumentHelp(
      "PEM client certificate for a server that requires mutual TLS (env AGENTCUBE_CLIENT_CERT).", valueName: "path"))
  var clientCert: String?

  @Option(
    help: ArgumentHelp("PEM key of --client-cert (env AGENTCUBE_CLIENT_KEY).", valueName: "path"))
  var clientKey: String?

  @Option(
    help: ArgumentHelp(
      "Seconds each call may take (default \(Self.sdkDefaultTimeoutSeconds); session create: 120).",
      valueName: "seconds"))
  var timeout: Double?

  @Flag(help: "Print one JSON object instead of text.")
  var json = false

  func validate() throws {
    _ = try target()
    _ = try tokenSource()
    let tls = self.tls
    guard (tls.certificateFile == nil) == (tls.keyFile == nil) else {
      throw ValidationError("a client certificate needs both --client-cert and --client-key (or AGENTCUBE_CLIENT_CERT and AGENTCUBE_CLIENT_KEY)")
    }
    if let timeout, !(timeout > 0 && timeout <= Self.maxTimeoutSeconds) {
      throw ValidationError("--timeout must be more than 0 and at most \(Int(Self.maxTimeoutSeconds)) seconds")
    }
  }

  /// Call options: --timeout if given, else `defaultTimeout`, else (`nil`) the SDK's default.
  func callOptions(defaultTimeout: Duration? = nil) -> CallOptions {
    CallOptions(timeout: timeout.map { .milliseconds(Int64(($0 * 1000).rounded(.up))) } ?? defaultTimeout)
  }

  /// Runs `body` with a client for these options and closes it; a failure is reported on stderr
  /// and becomes the exit code (see ``ExitCodes``).
  func withClient<Result>(_ body: (AgentCubeClient) async throws -> Result) async throws -> Result {
    let token = try tokenSource()
    var configuration = AgentCubeClient.Configuration.defaults
    configuration.tls = tls
    let client = AgentCubeClient(target: try target(), token: token.source, configuration: configuration)
    do {
      let result = try await body(client)
      await client.close()
      return result
    } catch {
      await client.close()
      throw ErrorReporter(redacting: token.literal).report(error)
    }
  }

  /// Where to connect: --server, else $AGENTCUBE_SERVER, else ``defaultServer``.
  func target() throws -> ConnectionTarget {
    var (value, source) = (Self.defaultServer, "the default server")
    if let server {
      (value, source) = (server, "--server")
    } else if let env = Self.environment("AGENTCUBE_SERVER") {
      (value, source) = (env, "AGENTCUBE_SERVER")
    }
    guard let target = ConnectionTarget(parsing: value) else {
      throw ValidationError("\(source): '\(value)' is not unix:PATH, PATH, HOST:PORT or tls://HOST:PORT")
    }
    return target
  }

  /// TLS files: each flag, else its environment variable.
  var tls: ClientTLSConfiguration {
    ClientTLSConfiguration(
      caFile: caFile ?? Self.environment("AGENTCUBE_CA_FILE"),
      certificateFile: clientCert ?? Self.environment("AGENTCUBE_CLIENT_CERT"),
      keyFile: clientKey ?? Self.environment("AGENTCUBE_CLIENT_KEY"))
  }

  /// The token: --token or --token-file, else $AGENTCUBE_TOKEN or $AGENTCUBE_TOKEN_FILE, else none.
  func tokenSource() throws -> ClientToken {
    switch (token, tokenFile) {
    case (.some, .some): throw ValidationError("use either --token or --token-file, not both")
    case (.some(let token), nil): return try .literal(token, source: "--token")
    case (nil, .some(let path)): return try .file(path, source: "--token-file")
    case (nil, nil): break
    }
    switch (Self.environment("AGENTCUBE_TOKEN"), Self.environment("AGENTCUBE_TOKEN_FILE")) {
    case (.some, .some): throw ValidationError("set either AGENTCUBE_TOKEN or AGENTCUBE_TOKEN_FILE, not both")
    case (.some(let token), nil): return try .literal(token, source: "AGENTCUBE_TOKEN")
    case (nil, .some(let path)): return try .file(path, source: "AGENTCUBE_TOKEN_FILE")
    case (nil, nil): return .none
    }
  }

  /// An environment variable; empty counts as unset.
  private static func environment(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
  }

  /// The SDK's default call timeout in whole seconds, for --help.
  private static var sdkDefaultTimeoutSeconds: Int64 {
    AgentCubeClient.Configuration.defaults.defaultTimeout.components.seconds
  }
}
