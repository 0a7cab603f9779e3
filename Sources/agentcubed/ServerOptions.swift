import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeTransport
import ArgumentParser
import Foundation

/// `agentcubed` options; each flag also reads an `AGENTCUBE_*` environment variable.
struct ServerOptions: ParsableArguments {
  @Option(help: "Unix socket to listen on ('' for none). Env: AGENTCUBE_UNIX_SOCKET.")
  var unixSocket: String = env("AGENTCUBE_UNIX_SOCKET") ?? Defaults.unixSocket

  @Option(help: "The Unix socket's mode, octal (who may connect). Env: AGENTCUBE_UNIX_SOCKET_MODE.")
  var unixSocketMode: String = env("AGENTCUBE_UNIX_SOCKET_MODE") ?? "0660"

  @Option(help: "The Unix socket's owner, a user name or uid (default: the server's). Env: AGENTCUBE_UNIX_SOCKET_OWNER.")
  var unixSocketOwner: String = env("AGENTCUBE_UNIX_SOCKET_OWNER") ?? ""

  @Option(help: "The Unix socket's group, a group name or gid (default: the server's). Env: AGENTCUBE_UNIX_SOCKET_GROUP.")
  var unixSocketGroup: String = env("AGENTCUBE_UNIX_SOCKET_GROUP") ?? ""

  @Option(help: "TCP address to listen on, HOST:PORT ('' for none; loopback by default). Env: AGENTCUBE_TCP.")
  var tcp: String = env("AGENTCUBE_TCP") ?? "127.0.0.1:7420"

  @Option(help: "PEM certificate chain for TLS on the TCP listener, re-read when it changes. Env: AGENTCUBE_TLS_CERT.")
  var tlsCert: String = env("AGENTCUBE_TLS_CERT") ?? ""

  @Option(help: "PEM private key of --tls-cert, re-read when it changes. Env: AGENTCUBE_TLS_KEY.")
  var tlsKey: String = env("AGENTCUBE_TLS_KEY") ?? ""

  @Option(help: "PEM CAs whose client certificates TCP clients must present (mutual TLS). Env: AGENTCUBE_TLS_CLIENT_CA.")
  var tlsClientCa: String = env("AGENTCUBE_TLS_CLIENT_CA") ?? ""

  @Flag(help: "Allow plain TCP (no --tls-cert) on a non-loopback address. Env: AGENTCUBE_ALLOW_INSECURE_TCP=1.")
  var allowInsecureTcp = false

  @Option(help: "State directory: session records, workspaces, tokens. Env: AGENTCUBE_STATE_DIR.")
  var stateDir: String = env("AGENTCUBE_STATE_DIR") ?? Defaults.stateDirectory

  @Option(help: "Token file (kube-apiserver --token-auth-file format). Default: <state-dir>/tokens.csv, created with one development token. Env: AGENTCUBE_TOKEN_AUTH_FILE.")
  var tokenAuthFile: String = env("AGENTCUBE_TOKEN_AUTH_FILE") ?? ""

  @Option(
    help: """
      Where sessions run: local (runc sandboxes on this machine) or kubernetes (agents.x-k8s.io Sandbox \
      objects, created with each caller's own token). Env: AGENTCUBE_BACKEND.
      """)
  var backend: String = env("AGENTCUBE_BACKEND") ?? "local"

  @Option(
    help: """
      How bearer tokens are checked: token-file or tokenreview (Kubernetes TokenReview); default \
      token-file with the local backend, tokenreview with kubernetes. Env: AGENTCUBE_AUTHENTICATOR.
      """)
  var authenticator: String = env("AGENTCUBE_AUTHENTICATOR") ?? ""

  /// The authenticator in effect: the flag, else the backend's default.
  var effectiveAuthenticator: String { authenticator.isEmpty ? (backend == "kubernetes" ? "tokenreview" : "token-file") : authenticator }

  @Option(
    name: .customLong("namespace"),
    help: """
      Kubernetes backend: a namespace whose Sandboxes this server serves (repeatable; default all). \
      Env: AGENTCUBE_NAMESPACES, comma-separated.
      """)
  var namespaces: [String] = env("AGENTCUBE_NAMESPACES").map { $0.split(separator: ",").map(String.init) } ?? []

  @Option(help: "Kubernetes backend: the Sandbox API version, v1beta1 or v1alpha1. Env: AGENTCUBE_SANDBOX_API_VERSION.")
  var sandboxApiVersion: String = env("AGENTCUBE_SANDBOX_API_VERSION") ?? "v1beta1"

  @Option(help: "Kubernetes backend: the runtimeClassName of sandbox pods (default: the cluster's). Env: AGENTCUBE_RUNTIME_CLASS_NAME.")
  var runtimeClassName: String = env("AGENTCUBE_RUNTIME_CLASS_NAME") ?? ""

  @Option(
    help: """
      The image when CreateSession names none: a local image's name, or with the Kubernetes backend a \
      container image reference. Env: AGENTCUBE_DEFAULT_IMAGE.
      """)
  var defaultImage: String = env("AGENTCUBE_DEFAULT_IMAGE") ?? "default"

  @Option(help: "Kubernetes backend: the SSH port of sandbox pods. Env: AGENTCUBE_SSH_PORT.")
  var sshPort: Int = env("AGENTCUBE_SSH_PORT").flatMap(Int.init) ?? 22

  @Option(help: "Kubeconfig file(s), colon-separated (default: KUBECONFIG, in a pod its service account, else ~/.kube/config). Env: AGENTCUBE_KUBECONFIG.")
  var kubeconfig: String = env("AGENTCUBE_KUBECONFIG") ?? ""

  @Option(help: "Kubeconfig context (default: its current-context). Env: AGENTCUBE_CONTEXT.")
  var context: String = env("AGENTCUBE_CONTEXT") ?? ""

  @Option(help: "An audience TokenReview checks tokens for (repeatable). Env: AGENTCUBE_TOKEN_REVIEW_AUDIENCE, comma-separated.")
  var tokenReviewAudience: [String] = env("AGENTCUBE_TOKEN_REVIEW_AUDIENCE").map { $0.split(separator: ",").map(String.init) } ?? []

  @Option(help: "Seconds a TokenReview identity is cached (not extended by use, never past the token's exp). Env: AGENTCUBE_AUTH_CACHE_TTL.")
  var authCacheTtl: Int = env("AGENTCUBE_AUTH_CACHE_TTL").flatMap(Int.init) ?? 30

  @Option(help: "Seconds a rejected token is cached. Env: AGENTCUBE_AUTH_NEGATIVE_CACHE_TTL.")
  var authNegativeCacheTtl: Int = env("AGENTCUBE_AUTH_NEGATIVE_CACHE_TTL").flatMap(Int.init) ?? 5

  @Option(help: "TokenReview answers cached at most. Env: AGENTCUBE_AUTH_CACHE_SIZE.")
  var authCacheSize: Int = env("AGENTCUBE_AUTH_CACHE_SIZE").flatMap(Int.init) ?? 10000

  @Flag(help: "Accept a kubeconfig cluster with insecure-skip-tls-verify (a warning is logged).")
  var kubernetesInsecureSkipTlsVerify = false

  @Option(help: "JSON file of extra local images. Env: AGENTCUBE_IMAGES_FILE.")
  var imagesFile: String = env("AGENTCUBE_IMAGES_FILE") ?? ""

  @Option(help: "Ignored (kept for old scripts): sandboxes have private networks and no host address. Env: AGENTCUBE_ADDRESS_POOL.")
  var addressPool: String = env("AGENTCUBE_ADDRESS_POOL") ?? ""

  @Option(help: "Sandbox network: none (loopback only) or egress (outbound through slirp4netns). Env: AGENTCUBE_SANDBOX_NETWORK.")
  var sandboxNetwork: String = env("AGENTCUBE_SANDBOX_NETWORK") ?? "none"

  @Option(help: "runc's path (default: found in /usr/sbin, /usr/bin, /usr/local). Env: AGENTCUBE_RUNC.")
  var runc: String = env("AGENTCUBE_RUNC") ?? ""

  @Option(help: "First host uid/gid of the sandboxes' 65,536-id ranges. Env: AGENTCUBE_ID_RANGE_BASE.")
  var idRangeBase: UInt32 = env("AGENTCUBE_ID_RANGE_BASE").flatMap(UInt32.init) ?? 1_000_000_000

  @Option(help: "Number of sandbox id ranges (the most sandboxes on this machine). Env: AGENTCUBE_ID_RANGE_COUNT.")
  var idRangeCount: Int = env("AGENTCUBE_ID_RANGE_COUNT").flatMap(Int.init) ?? 1024

  @Option(help: "Smallest TTL in seconds. Env: AGENTCUBE_MIN_TTL.")
  var minTTL: UInt32 = env("AGENTCUBE_MIN_TTL").flatMap(UInt32.init) ?? 60

  @Option(help: "Largest TTL in seconds. Env: AGENTCUBE_MAX_TTL.")
  var maxTTL: UInt32 = env("AGENTCUBE_MAX_TTL").flatMap(UInt32.init) ?? 28800

  @Option(
    name: .customLong("default-ssh-user"),
    help: """
      The user a session's SSH server lets in when CreateSession names none (images run as their own \
      users). Env: AGENTCUBE_DEFAULT_SSH_USER.
      """)
  var defaultSSHUser: String = env("AGENTCUBE_DEFAULT_SSH_USER") ?? "root"

  @Option(help: "TTL when a request gives none, in seconds. Env: AGENTCUBE_DEFAULT_TTL.")
  var defaultTTL: UInt32 = env("AGENTCUBE_DEFAULT_TTL").flatMap(UInt32.init) ?? 3600

  @Option(help: "Idle timeout when a request gives none, in seconds (0: none). Env: AGENTCUBE_IDLE_TIMEOUT.")
  var idleTimeout: UInt32 = env("AGENTCUBE_IDLE_TIMEOUT").flatMap(UInt32.init) ?? 1800

  @Option(help: "How often expired and idle sessions are reaped, in milliseconds. Env: AGENTCUBE_REAP_INTERVAL_MS.")
  var reapIntervalMs: Int = env("AGENTCUBE_REAP_INTERVAL_MS").flatMap(Int.init) ?? 1000

  @Option(help: "Live sessions one caller may have at once; one more is RESOURCE_EXHAUSTED. Env: AGENTCUBE_MAX_SESSIONS_PER_IDENTITY.")
  var maxSessionsPerIdentity: Int = env("AGENTCUBE_MAX_SESSIONS_PER_IDENTITY").flatMap(Int.init) ?? 32

  @Option(help: "CreateSession calls one caller may make per second on average (a token bucket); more are RESOURCE_EXHAUSTED with a retry-after-ms detail. Env: AGENTCUBE_CREATE_RATE_PER_IDENTITY.")
  var createRatePerIdentity: Double = env("AGENTCUBE_CREATE_RATE_PER_IDENTITY").flatMap(Double.init) ?? 5

  @Option(help: "CreateSession calls one caller may make at once after a quiet time (the bucket's size). Env: AGENTCUBE_CREATE_BURST_PER_IDENTITY.")
  var createBurstPerIdentity: Int = env("AGENTCUBE_CREATE_BURST_PER_IDENTITY").flatMap(Int.init) ?? 20

  @Option(help: "Open tunnels one caller may hold at once; one more is RESOURCE_EXHAUSTED. Env: AGENTCUBE_MAX_TUNNELS_PER_IDENTITY.")
  var maxTunnelsPerIdentity: Int = env("AGENTCUBE_MAX_TUNNELS_PER_IDENTITY").flatMap(Int.init) ?? 64

  @Option(help: "Open connections at most (tunnels included; lowered to (RLIMIT_NOFILE - 256) / 2 when that is less); more get GOAWAY RESOURCE_EXHAUSTED. Env: AGENTCUBE_MAX_CONNECTIONS.")
  var maxConnections: Int = env("AGENTCUBE_MAX_CONNECTIONS").flatMap(Int.init) ?? 8192

  @Option(help: "Open connections from one peer (uid on the Unix socket, IP address on TCP) at most. Env: AGENTCUBE_MAX_CONNECTIONS_PER_PEER.")
  var maxConnectionsPerPeer: Int = env("AGENTCUBE_MAX_CONNECTIONS_PER_PEER").flatMap(Int.init) ?? 2048

  @Option(help: "Largest frame accepted, in bytes. Env: AGENTCUBE_MAX_FRAME_SIZE.")
  var maxFrameSize: Int = env("AGENTCUBE_MAX_FRAME_SIZE").flatMap(Int.init) ?? 4 * 1024 * 1024

  @Option(help: "Most calls in flight per connection. Env: AGENTCUBE_MAX_CONCURRENT_CALLS.")
  var maxConcurrentCalls: Int = env("AGENTCUBE_MAX_CONCURRENT_CALLS").flatMap(Int.init) ?? 100

  @Option(help: "Seconds without a byte from a client (calls in flight or not) before the server sends a keepalive PING. Env: AGENTCUBE_KEEPALIVE_INTERVAL.")
  var keepaliveInterval: Int = env("AGENTCUBE_KEEPALIVE_INTERVAL").flatMap(Int.init) ?? 60

  @Option(help: "Seconds a client has to answer a keepalive PING; then GOAWAY DEADLINE_EXCEEDED and close. Env: AGENTCUBE_KEEPALIVE_TIMEOUT.")
  var keepaliveTimeout: Int = env("AGENTCUBE_KEEPALIVE_TIMEOUT").flatMap(Int.init) ?? 20

  @Option(help: "Seconds that shutdown waits for calls in flight. Env: AGENTCUBE_DRAIN_GRACE.")
  var drainGrace: Int = env("AGENTCUBE_DRAIN_GRACE").flatMap(Int.init) ?? 10

  @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. Env: AGENTCUBE_LOG_LEVEL.")
  var logLevel: String = env("AGENTCUBE_LOG_LEVEL") ?? "info"

  func validate() throws {
    guard minTTL >= 1, minTTL <= maxTTL, (minTTL...maxTTL).contains(defaultTTL) else {
      throw ValidationError("TTL bounds must satisfy 1 <= --min-ttl <= --default-ttl <= --max-ttl")
    }
    guard maxFrameSize >= 64 * 1024, maxFrameSize <= 64 * 1024 * 1024 else {
      throw ValidationError("--max-frame-size must be between 65536 and 67108864")
    }
    guard SSHUserName.isValid(defaultSSHUser) else {
      throw ValidationError("--default-ssh-user must be \(SSHUserName.rule)")
    }
    guard maxConcurrentCalls >= 1 else { throw ValidationError("--max-concurrent-calls must be at least 1") }
    guard createRatePerIdentity > 0, createRatePerIdentity.isFinite, createBurstPerIdentity >= 1 else {
      throw ValidationError("--create-rate-per-identity must be above 0 and --create-burst-per-identity at least 1")
    }
    guard maxSessionsPerIdentity >= 1, maxTunnelsPerIdentity >= 1 else {
      throw ValidationError("--max-sessions-per-identity and --max-tunnels-per-identity must be at least 1")
    }
    guard keepaliveInterval >= 1, keepaliveTimeout >= 1 else {
      throw ValidationError("--keepalive-interval and --keepalive-timeout must be at least 1 second")
    }
    guard reapIntervalMs >= 10 else { throw ValidationError("--reap-interval-ms must be at least 10") }
    guard unixSocket.isEmpty || unixSocket.utf8.count <= 107 else {
      throw ValidationError("--unix-socket path is longer than 107 bytes")
    }
    guard tcp.isEmpty || parsedTCP != nil else { throw ValidationError("--tcp must be HOST:PORT") }
    guard !unixSocket.isEmpty || !tcp.isEmpty else { throw ValidationError("listen on a Unix socket, TCP or both") }
    guard ["local", "kubernetes"].contains(backend) else {
      throw ValidationError("--backend must be local or kubernetes, not '\(backend)'")
    }
    guard ["token-file", "tokenreview"].contains(effectiveAuthenticator) else {
      throw ValidationError("--authenticator must be token-file or tokenreview, not '\(authenticator)'")
    }
    guard SandboxAPIVersion(rawValue: sandboxApiVersion) != nil else {
      throw ValidationError("--sandbox-api-version must be v1beta1 or v1alpha1, not '\(sandboxApiVersion)'")
    }
    guard !defaultImage.isEmpty, defaultImage.utf8.count <= 253 else {
      throw ValidationError("--default-image must be 1 to 253 characters")
    }
    guard (1...65535).contains(sshPort) else { throw ValidationError("--ssh-port must be between 1 and 65535") }
    guard authCacheTtl >= 0, authNegativeCacheTtl >= 0, authCacheSize >= 1 else {
      throw ValidationError("--auth-cache-ttl and --auth-negative-cache-ttl must be 0 or more, --auth-cache-size 1 or more")
    }
    guard UInt32(unixSocketMode, radix: 8).map({ $0 <= 0o777 }) == true else {
      throw ValidationError("--unix-socket-mode must be octal permission bits such as 0660, not '\(unixSocketMode)'")
    }
    _ = try socketOwnership
    guard tlsCert.isEmpty == tlsKey.isEmpty else { throw ValidationError("--tls-cert and --tls-key go together") }
    guard tlsClientCa.isEmpty || !tlsCert.isEmpty else { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
    guard tlsCert.isEmpty || !tcp.isEmpty else { throw ValidationError("--tls-cert needs a --tcp listener") }
    if let (host, _) = parsedTCP, tlsCert.isEmpty, !Self.isLoopback(host), !allowsInsecureTCP {
      throw ValidationError(
        "refusing plain TCP on \(tcp): bearer tokens would cross the network in clear text; give --tls-cert and --tls-key, listen on loopback, or pass --allow-insecure-tcp")
    }
  }

  /// --allow-insecure-tcp, or AGENTCUBE_ALLOW_INSECURE_TCP set to 1 or true.
  var allowsInsecureTCP: Bool {
    allowInsecureTcp || ["1", "true", "yes"].contains(env("AGENTCUBE_ALLOW_INSECURE_TCP")?.lowercased() ?? "")
  }

  /// TLS for the TCP listener, when --tls-cert is given.
  var tls: ServerTLSConfiguration? {
    tlsCert.isEmpty
      ? nil
      : ServerTLSConfiguration(
        certificateChainFile: tlsCert, privateKeyFile: tlsKey, clientCAFile: tlsClientCa.isEmpty ? nil : tlsClientCa)
  }

  /// The Unix socket's mode, owner and group as numbers.
  var socketOwnership: (mode: UInt32, owner: UInt32?, group: UInt32?) {
    get throws {
      let mode = UInt32(unixSocketMode, radix: 8) ?? 0o660
      var owner: UInt32?
      if !unixSocketOwner.isEmpty {
        guard let uid = UInt32(unixSocketOwner) ?? getpwnam(unixSocketOwner)?.pointee.pw_uid else {
          throw ValidationError("--unix-socket-owner: no user '\(unixSocketOwner)'")
        }
        owner = uid
      }
      var group: UInt32?
      if !unixSocketGroup.isEmpty {
        guard let gid = UInt32(unixSocketGroup) ?? getgrnam(unixSocketGroup)?.pointee.gr_gid else {
          throw ValidationError("--unix-socket-group: no group '\(unixSocketGroup)'")
        }
        group = gid
      }
      return (mode, owner, group)
    }
  }

  /// 127.0.0.0/8, ::1 and localhost: addresses no other machine reaches.
  static func isLoopback(_ host: String) -> Bool {
    var address = [UInt8](repeating: 0, count: 16)  // room for an in6_addr (and an in_addr)
    if inet_pton(AF_INET, host, &address) == 1 { return address[0] == 127 }
    if inet_pton(AF_INET6, host, &address) == 1 { return address == Array(repeating: 0, count: 15) + [1] }
    return host == "localhost"
  }

  var parsedTCP: (host: String, port: Int)? {
    guard let colon = tcp.lastIndex(of: ":"), let port = Int(tcp[tcp.index(after: colon)...]), (0...65535).contains(port)
    else { return nil }
    var host = String(tcp[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return host.isEmpty ? nil : (host, port)
  }
}

/// Defaults shared with the CLI's documentation.
enum Defaults {
  /// The Unix socket both `agentcubed` and `agentcube` use by default.
  static let unixSocket = "/tmp/agentcube/agentcube.sock"

  /// `/var/lib/agentcube` for root (whose home, 0700, a sandbox's root could not pass through to
  /// its bundle), else `$XDG_STATE_HOME/agentcube`, else `~/.local/state/agentcube`.
  static var stateDirectory: String {
    if geteuid() == 0 { return "/var/lib/agentcube" }
    if let xdg = env("XDG_STATE_HOME"), !xdg.isEmpty { return "\(xdg)/agentcube" }
    return "\(NSHomeDirectory())/.local/state/agentcube"
  }
}

func env(_ name: String) -> String? { ProcessInfo.processInfo.environment[name] }
