import Foundation

/// Where the Kubernetes API is and which credentials the server uses there, found as client-go
/// finds them.
public struct KubernetesConnection: Sendable {
  public var server: String
  public var tls: TLSCredentials
  /// The bearer token for each request, read again every time when it comes from a file (projected
  /// tokens rotate); `nil` for client-certificate authentication.
  public var token: @Sendable () throws -> String?
  /// The namespace of the context, or the pod's.
  public var namespace: String?
  /// Where this came from, for the startup log (never a credential).
  public var source: String

  /// The in-cluster service-account directory.
  public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

  /// `kubeconfig` (a path, or a colon-separated list), else `KUBECONFIG`, else in a pod
  /// (`KUBERNETES_SERVICE_HOST`/`_PORT`) the mounted service account, else `~/.kube/config`;
  /// `context`, else the current context.
  ///
  /// - Throws: what cannot be used, by name: unsupported authentication (exec plugins,
  ///   auth-provider), missing entries, unreadable files, `insecure-skip-tls-verify` without
  ///   `allowInsecure`.
  public static func resolve(
    kubeconfig: String?, context: String?, allowInsecure: Bool = false,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    serviceAccountDirectory: String = serviceAccountDirectory
  ) throws(KubernetesConfigurationError) -> KubernetesConnection {
    let list = kubeconfig.flatMap { $0.isEmpty ? nil : $0 } ?? environment["KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    if let list {
      let paths = list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
      var configs: [KubeConfig] = []
      for path in paths where kubeconfig != nil || FileManager.default.fileExists(atPath: path) {
        configs.append(try KubeConfig.load(path: path))
      }
      guard !configs.isEmpty else { throw KubernetesConfigurationError("no kubeconfig file of \(list) exists") }
      return try fromKubeConfig(KubeConfig.merge(configs), context: context, allowInsecure: allowInsecure, source: list)
    }
    if let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] {
      return try inCluster(host: host, port: port, directory: serviceAccountDirectory)
    }
    let home = environment["HOME"] ?? NSHomeDirectory()
    let path = "\(home)/.kube/config"
    return try fromKubeConfig(KubeConfig.load(path: path), context: context, allowInsecure: allowInsecure, source: path)
  }

  static func inCluster(host: String, port: String, directory: String) throws(KubernetesConfigurationError) -> Self {
    let tokenPath = "\(directory)/token"
    guard FileManager.default.isReadableFile(atPath: tokenPath) else {
      throw KubernetesConfigurationError("in a pod, but the service account token \(tokenPath) cannot be read")
    }
    let ca = try read("\(directory)/ca.crt", what: "the service account CA")
    let namespace = (try? read("\(directory)/namespace", what: "namespace")).map {
      String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
    let address = host.contains(":") ? "[\(host)]" : host
    return KubernetesConnection(
      server: "https://\(address):\(port)", tls: TLSCredentials(certificateAuthority: ca),
      token: { try tokenFromFile(tokenPath) }, namespace: namespace, source: "in-cluster (\(directory))")
  }

  static func fromKubeConfig(
    _ config: KubeConfig, context requested: String?, allowInsecure: Bool, source: String
  ) throws(KubernetesConfigurationError) -> Self {
    guard let contextName = requested.flatMap({ $0.isEmpty ? nil : $0 }) ?? config.currentContext, !contextName.isEmpty else {
      throw KubernetesConfigurationError("\(source) has no current-context; give --context")
    }
    guard let context = config.contexts?.first(where: { $0.name == contextName })?.context else {
      throw KubernetesConfigurationError("\(source) has no context '\(contextName)'")
    }
    guard let cluster = config.clusters?.first(where: { $0.name == context.cluster })?.cluster else {
      throw KubernetesConfigurationError("context '\(contextName)' names the cluster '\(context.cluster)', which \(source) does not have")
    }
    guard let user = config.users?.first(where: { $0.name == context.user })?.user else {
      throw KubernetesConfigurationError("context '\(contextName)' names the user '\(context.user)', which \(source) does not have")
    }
    if user.exec != nil {
      throw KubernetesConfigurationError("user '\(context.user)' authenticates with an exec plugin, which agentcubed does not support; use a token, tokenFile or client certificate")
    }
    if user.authProvider != nil {
      throw KubernetesConfigurationError("user '\(context.user)' authenticates with an auth-provider, which agentcubed does not support; use a token, tokenFile or client certificate")
    }
    guard let server = cluster.server, server.hasPrefix("https://") || server.hasPrefix("http://") else {
      throw KubernetesConfigurationError("cluster '\(context.cluster)' has no https:// server")
    }
    var tls = TLSCredentials()
    if let data = cluster.certificateAuthorityData {
      tls.certificateAuthority = try decode(data, what: "certificate-authority-data of cluster '\(context.cluster)'")
    } else if let file = cluster.certificateAuthority {
      tls.certificateAuthority = try read(file, what: "certificate-authority of cluster '\(context.cluster)'")
    }
    if cluster.insecureSkipTLSVerify == true {
      guard allowInsecure else {
        throw KubernetesConfigurationError(
          "cluster '\(context.cluster)' sets insecure-skip-tls-verify; refusing unless --kubernetes-insecure-skip-tls-verify is given")
      }
      tls.insecureSkipVerify = true
    }
    if let data = user.clientCertificateData {
      tls.clientCertificate = try decode(data, what: "client-certificate-data of user '\(context.user)'")
    } else if let file = user.clientCertificate {
      tls.clientCertificate = try read(file, what: "client-certificate of user '\(context.user)'")
    }
    if let data = user.clientKeyData {
      tls.clientKey = try decode(data, what: "client-key-data of user '\(context.user)'")
    } else if let file = user.clientKey {
      tls.clientKey = try read(file, what: "client-key of user '\(context.user)'")
    }
    guard (tls.clientCertificate == nil) == (tls.clientKey == nil) else {
      throw KubernetesConfigurationError("user '\(context.user)' needs both a client certificate and its key")
    }
    let token: @Sendable () throws -> String?
    if let literal = user.token, !literal.isEmpty {
      token = { literal }
    } else if let file = user.tokenFile {
      token = { try tokenFromFile(file) }
    } else {
      token = { nil }
    }
    return KubernetesConnection(
      server: server, tls: tls, token: token, namespace: context.namespace,
      source: "\(source), context \(contextName)")
  }

  /// The token in `path`, read now (it may have been rotated since the last read).
  static func tokenFromFile(_ path: String) throws -> String {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw KubernetesConfigurationError("cannot read the token file \(path)")
    }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  private static func read(_ path: String, what: String) throws(KubernetesConfigurationError) -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw KubernetesConfigurationError("cannot read \(what): \(path)")
    }
    return Array(data)
  }

  private static func decode(_ base64: String, what: String) throws(KubernetesConfigurationError) -> [UInt8] {
    guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw KubernetesConfigurationError("\(what) is not base64")
    }
    return Array(data)
  }
}
