import AgentCube
import ArgumentParser

extension SessionCommand {
  /// `agentcube session create`: starts a sandbox and returns once it serves.
  struct Create: AsyncParsableCommand {
    /// How long create may take unless --timeout says otherwise: starting a sandbox is slow.
    static let defaultTimeout = Duration.seconds(120)

    static let configuration = CommandConfiguration(
      abstract: "Create a session and wait until its sandbox serves.",
      discussion: "Zero or omitted values take the server's defaults."
    )

    @OptionGroup var options: ClientOptions

    @Option(help: "The image (profile) to run (default: the server's).")
    var image: String?

    @Option(help: ArgumentHelp("Time to live in seconds (default: the server's).", valueName: "seconds"))
    var ttl: UInt32?

    @Option(
      help: ArgumentHelp("End the session after this many idle seconds (default: the server's).", valueName: "seconds"))
    var idleTimeout: UInt32?

    @OptionGroup var key: SSHPublicKeyOptions

    @Option(
      name: .customLong("ssh-user"),
      help: ArgumentHelp("The user SSH lets in with the key (default: the server's).", valueName: "user"))
    var sshUser: String?

    @Option(
      name: .customLong("metadata"),
      help: ArgumentHelp("Metadata to store with the session; repeat for more pairs.", valueName: "key=value"))
    var metadata: [MetadataArgument] = []

    func run() async throws {
      try await options.withClient { client in
        let request = CreateSessionRequest(
          image: image ?? "", ttlSeconds: ttl ?? 0, sshPublicKey: try key.publicKey() ?? "",
          metadata: metadata.map(\.pair), idleTimeoutSeconds: idleTimeout ?? 0, sshUser: sshUser ?? "")
        let callOptions = options.callOptions(defaultTimeout: Self.defaultTimeout)
        let response = try await client.sessions.createSession(request, options: callOptions)
        try SessionCommand.printSession(response.session, json: options.json)
      }
    }
  }
}

/// A `key=value` argument of `--metadata`; the value may contain `=` and may be empty.
struct MetadataArgument: ExpressibleByArgument {
  let pair: KeyValue

  init?(argument: String) {
    guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
    pair = KeyValue(key: String(argument[..<equals]), value: String(argument[argument.index(after: equals)...]))
  }
}
