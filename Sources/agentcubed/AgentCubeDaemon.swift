import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeKubernetesBackend
import AgentCubeLocalBackend
import AgentCubeServer
import AgentCubeTransport
import ArgumentParser
import CAgentCubeProcess
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `agentcubed`: the AgentCube session server on the embedded default (local sandboxes, token file).
@main
struct AgentCubeDaemon: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agentcubed",
    abstract: "Serve AgentCube sessions: isolated local sandboxes reachable over SSH.",
    discussion: """
      Listens on a Unix socket and on loopback TCP. Without --token-auth-file, the first run creates
      <state-dir>/tokens.csv with one development token, and <state-dir>/developer.token holding the
      same token for clients (agentcube --token-file). SIGTERM or SIGINT drains calls and stops;
      sandboxes keep running and are adopted again by the next start on the same state directory.
      """)

  @OptionGroup var options: ServerOptions

  func run() async throws {
    // Tunnel buffers are large and short-lived: served from mmap, freed memory goes back to the
    // system when tunnels close instead of staying in glibc's heap (docs/benchmarks.md (tunnel section)).
    _ = CAgentCubeProcess_setMmapThreshold(128 * 1024)
    var logger = Logger(label: "agentcubed")
    logger.logLevel = Logger.Level(rawValue: options.logLevel) ?? .info
    let descriptors = DescriptorLimit.raise()

    try FileManager.default.createDirectory(
      atPath: options.stateDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
    // One connection to the cluster for TokenReview and the Kubernetes backend alike.
    let needsCluster = options.effectiveAuthenticator == "tokenreview" || options.backend == "kubernetes"
    let kubernetes = needsCluster ? try connectToKubernetes(logger: logger) : nil
    let authenticator = try makeAuthenticator(kubernetes: kubernetes, logger: logger)
    let backend: any SessionBackend =
      if let kubernetes, options.backend == "kubernetes" {
        makeKubernetesBackend(api: kubernetes, logger: logger)
      } else {
        try await makeLocalBackend(logger: logger)
      }
    let descriptor = backend.descriptor
    if !descriptor.isolated {
      logger.warning("sandboxes are NOT isolated", metadata: ["reason": "\(descriptor.isolationMessage)"])
    }

    if !options.unixSocket.isEmpty {
      let directory = (options.unixSocket as NSString).deletingLastPathComponent
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
      // Another user could have made the directory first and would then swap the socket and
      // collect the tokens clients send: refuse one that is not ours or that others may write.
      var info = stat()
      guard lstat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid(),
        info.st_mode & 0o022 == 0
      else {
        throw ValidationError(
          "the socket directory \(directory) must be a directory of uid \(geteuid()) that others cannot write")
      }
    }
    var connection = ServerConnectionConfiguration(
      maxFrameSize: options.maxFrameSize, maxConcurrentCalls: options.maxConcurrentCalls, agent: "agentcubed/0.1")
    connection.keepaliveInterval = .seconds(options.keepaliveInterval)
    connection.keepaliveTimeout = .seconds(options.keepaliveTimeout)
    var transport = ServerTransport.Configuration(
      unixSocketPath: options.unixSocket.isEmpty ? nil : options.unixSocket, tcp: options.parsedTCP,
      connection: connection, drainGrace: .seconds(options.drainGrace))
    let socket = try options.socketOwnership
    transport.unixSocketMode = socket.mode
    transport.unixSocketOwner = socket.owner
    transport.unixSocketGroup = socket.group
    transport.tls = options.tls
    if let (host, _) = options.parsedTCP, options.tls == nil, !ServerOptions.isLoopback(host) {
      logger.warning(
        "plain TCP on a non-loopback address (--allow-insecure-tcp): bearer tokens cross the network in clear text",
        metadata: ["tcp": "\(options.tcp)"])
    }
    // Connections over the limit must still be accepted (and refused): keep them within the descriptors.
    transport.maxConnections = min(options.maxConnections, DescriptorLimit.connectionBudget(descriptors: descriptors))
    if transport.maxConnections < options.maxConnections {
      logger.warning(
        "connection limit lowered to fit the descriptor limit",
        metadata: [
          "rlimit.nofile": "\(descriptors)", "max_connections": "\(transport.maxConnections)",
          "descriptor_reserve": "\(DescriptorLimit.reserve)",
        ])
    }
    logger.info(
      "descriptor limit",
      metadata: ["rlimit.nofile": "\(descriptors)", "max_connections": "\(transport.maxConnections)"])
    transport.maxConnectionsPerPeer = options.maxConnectionsPerPeer
    let server = SessionServer(
      configuration: .init(transport: transport, policy: policy),
      backend: backend, authenticator: authenticator, logger: logger)

    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: BackendService(backend: backend)), .init(service: server)],
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }

  private var policy: SessionPolicy {
    var policy = SessionPolicy.defaults
    policy.minTTLSeconds = options.minTTL
    policy.maxTTLSeconds = options.maxTTL
    policy.defaultTTLSeconds = options.defaultTTL
    policy.defaultSSHUser = options.defaultSSHUser
    policy.defaultImage = options.defaultImage
    policy.defaultIdleTimeoutSeconds = options.idleTimeout
    policy.maxSessionsPerIdentity = options.maxSessionsPerIdentity
    policy.createRatePerIdentity = options.createRatePerIdentity
    policy.createBurstPerIdentity = options.createBurstPerIdentity
    policy.maxTunnelsPerIdentity = options.maxTunnelsPerIdentity
    return policy
  }

  /// The cluster the kubeconfig (or the pod's service account) names, with the server's own credentials.
  private func connectToKubernetes(logger: Logger) throws -> KubernetesAPI {
    let connection: KubernetesConnection
    do {
      connection = try KubernetesConnection.resolve(
        kubeconfig: options.kubeconfig, context: options.context, allowInsecure: options.kubernetesInsecureSkipTlsVerify)
    } catch {
      throw ValidationError("Kubernetes: \(error.description)")
    }
    if connection.tls.insecureSkipVerify {
      logger.warning("the Kubernetes API server's certificate is NOT verified (insecure-skip-tls-verify)")
    }
    logger.info(
      "Kubernetes API", metadata: ["kubernetes.server": "\(connection.server)", "kubernetes.source": "\(connection.source)"])
    return KubernetesAPI(connection, http: CurlHTTPClient())
  }

  /// The token file (the local backend's default) or TokenReview against the cluster.
  private func makeAuthenticator(kubernetes: KubernetesAPI?, logger: Logger) throws -> any Authenticator {
    guard options.effectiveAuthenticator == "tokenreview", let kubernetes else {
      return try TokenFileAuthenticator(path: try prepareTokenFile(logger: logger))
    }
    var cache = TokenReviewCache.Configuration()
    cache.successLifetime = .seconds(options.authCacheTtl)
    cache.failureLifetime = .seconds(options.authNegativeCacheTtl)
    cache.capacity = options.authCacheSize
    logger.info(
      "authenticating with TokenReview", metadata: ["audiences": "\(options.tokenReviewAudience.joined(separator: ","))"])
    return TokenReviewAuthenticator(
      api: kubernetes, audiences: options.tokenReviewAudience, cache: TokenReviewCache(configuration: cache))
  }

  /// Sessions as Sandbox objects of the cluster.
  private func makeKubernetesBackend(api: KubernetesAPI, logger: Logger) -> KubernetesBackend {
    var configuration = KubernetesBackend.Configuration()
    configuration.version = SandboxAPIVersion(rawValue: options.sandboxApiVersion) ?? .v1beta1  // validated
    configuration.namespaces = options.namespaces
    configuration.runtimeClassName = options.runtimeClassName.isEmpty ? nil : options.runtimeClassName
    configuration.sshPort = options.sshPort
    logger.info(
      "sessions are Kubernetes Sandbox objects",
      metadata: [
        "sandbox.api_version": "\(configuration.version.rawValue)",
        "namespaces": "\(configuration.namespaces.isEmpty ? "all" : configuration.namespaces.joined(separator: ","))",
      ])
    return KubernetesBackend(api: api, configuration: configuration, logger: logger)
  }

  /// Local runc sandboxes in the state directory.
  private func makeLocalBackend(logger: Logger) async throws -> LocalBackend {
    var backendConfiguration = LocalBackend.Configuration.defaults(stateDirectory: options.stateDir)
    if !options.imagesFile.isEmpty {
      for (name, image) in try LocalImage.loadImages(fromFile: options.imagesFile) { backendConfiguration.images[name] = image }
    }
    backendConfiguration.reapInterval = .milliseconds(options.reapIntervalMs)
    if !options.addressPool.isEmpty {
      logger.warning("--address-pool is ignored: sandboxes have private networks now")
    }
    if !options.runc.isEmpty { backendConfiguration.runcPath = options.runc }
    guard let network = SandboxNetwork(options.sandboxNetwork) else {
      throw ValidationError("--sandbox-network must be none or egress, not '\(options.sandboxNetwork)'")
    }
    backendConfiguration.network = network
    backendConfiguration.idRangeBase = options.idRangeBase
    backendConfiguration.idRangeCount = options.idRangeCount
    return try await LocalBackend(configuration: backendConfiguration, logger: logger)
  }

  /// The token file to authenticate against; on a first run without one, a development token.
  private func prepareTokenFile(logger: Logger) throws -> String {
    if !options.tokenAuthFile.isEmpty { return options.tokenAuthFile }
    let path = "\(options.stateDir)/tokens.csv"
    let clientPath = "\(options.stateDir)/developer.token"
    if try DevelopmentTokenFile.ensure(at: path, clientTokenPath: clientPath) {
      logger.notice(
        "created a development token", metadata: ["token_auth_file": "\(path)", "client_token_file": "\(clientPath)"])
    }
    logger.info("authenticating with a token file", metadata: ["token_auth_file": "\(path)", "client_token_file": "\(clientPath)"])
    return path
  }
}

/// Runs the backend until graceful shutdown, then shuts it down.
struct BackendService: Service {
  let backend: any SessionBackend

  func run() async throws {
    try await backend.run()
    await backend.shutdown()
  }
}
