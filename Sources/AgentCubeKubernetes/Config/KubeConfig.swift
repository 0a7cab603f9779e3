import Foundation
import Yams

/// A kubeconfig file, the fields this server supports (and the ones it must refuse by name).
struct KubeConfig: Decodable, Sendable {
  struct NamedCluster: Decodable, Sendable {
    var name: String
    var cluster: Cluster
  }

  struct Cluster: Decodable, Sendable {
    var server: String?
    var certificateAuthority: String?
    var certificateAuthorityData: String?
    var insecureSkipTLSVerify: Bool?

    enum CodingKeys: String, CodingKey {
      case server
      case certificateAuthority = "certificate-authority"
      case certificateAuthorityData = "certificate-authority-data"
      case insecureSkipTLSVerify = "insecure-skip-tls-verify"
    }
  }

  struct NamedUser: Decodable, Sendable {
    var name: String
    var user: User
  }

  struct User: Decodable, Sendable {
    var token: String?
    var tokenFile: String?
    var clientCertificate: String?
    var clientCertificateData: String?
    var clientKey: String?
    var clientKeyData: String?
    /// Present only to be refused by name: exec plugins and auth providers are not supported.
    var exec: IgnoredValue?
    var authProvider: IgnoredValue?

    enum CodingKeys: String, CodingKey {
      case token, tokenFile, exec
      case clientCertificate = "client-certificate"
      case clientCertificateData = "client-certificate-data"
      case clientKey = "client-key"
      case clientKeyData = "client-key-data"
      case authProvider = "auth-provider"
    }
  }

  struct NamedContext: Decodable, Sendable {
    var name: String
    var context: Context
  }

  struct Context: Decodable, Sendable {
    var cluster: String
    var user: String
    var namespace: String?
  }

  /// Any YAML value, decoded only to learn that it is there.
  struct IgnoredValue: Decodable, Sendable {
    init(from decoder: any Decoder) throws {}
  }

  var clusters: [NamedCluster]?
  var users: [NamedUser]?
  var contexts: [NamedContext]?
  var currentContext: String?

  enum CodingKeys: String, CodingKey {
    case clusters, users, contexts
    case currentContext = "current-context"
  }

  /// Parses `path`; relative file paths in it are made relative to its directory, as client-go does.
  static func load(path: String) throws(KubernetesConfigurationError) -> KubeConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw KubernetesConfigurationError("cannot read the kubeconfig \(path)")
    }
    var config: KubeConfig
    do {
      config = try YAMLDecoder().decode(KubeConfig.self, from: data)
    } catch {
      throw KubernetesConfigurationError("the kubeconfig \(path) is not valid: \(error)")
    }
    let directory = (path as NSString).deletingLastPathComponent
    func absolute(_ file: String?) -> String? {
      guard let file, !file.hasPrefix("/") else { return file }
      return (directory as NSString).appendingPathComponent(file)
    }
    for index in config.clusters?.indices ?? [].indices {
      config.clusters![index].cluster.certificateAuthority = absolute(config.clusters![index].cluster.certificateAuthority)
    }
    for index in config.users?.indices ?? [].indices {
      config.users![index].user.tokenFile = absolute(config.users![index].user.tokenFile)
      config.users![index].user.clientCertificate = absolute(config.users![index].user.clientCertificate)
      config.users![index].user.clientKey = absolute(config.users![index].user.clientKey)
    }
    return config
  }

  /// Several files merged as client-go merges `KUBECONFIG`: the first file naming a cluster, user
  /// or context wins; `current-context` is the first one set.
  static func merge(_ configs: [KubeConfig]) -> KubeConfig {
    var merged = KubeConfig()
    func union<T>(_ existing: [T]?, _ more: [T]?, name: (T) -> String) -> [T]? {
      var result = existing ?? []
      let names = Set(result.map(name))
      result += (more ?? []).filter { !names.contains(name($0)) }
      return result.isEmpty ? nil : result
    }
    for config in configs {
      merged.clusters = union(merged.clusters, config.clusters, name: \.name)
      merged.users = union(merged.users, config.users, name: \.name)
      merged.contexts = union(merged.contexts, config.contexts, name: \.name)
      if merged.currentContext?.isEmpty ?? true { merged.currentContext = config.currentContext }
    }
    return merged
  }
}

/// A configuration that cannot be used, said in words an operator can act on.
public struct KubernetesConfigurationError: Error, CustomStringConvertible, Sendable {
  public var description: String
  init(_ description: String) { self.description = description }
}
