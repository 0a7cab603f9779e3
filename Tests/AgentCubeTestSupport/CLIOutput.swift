import Foundation

/// A session as `agentcube ... --json` prints it (the fields tests read).
public struct CLISession: Decodable, Sendable, Equatable {
  public var id: String
  public var name: String
  public var creator: String
  public var image: String
  public var status: String
  /// `status_message`: why the status is what it is (e.g. an out-of-memory kill).
  public var statusMessage: String
  public var address: String
  public var sshUser: String
  public var sshPort: UInt16
  /// `ssh_host_public_key`: empty when the session reports none.
  public var sshHostPublicKey: String
  public var ttlSeconds: UInt32
  public var createdAtMs: Int64
  public var expiresAtMs: Int64

  private enum CodingKeys: String, CodingKey {
    case id, name, creator, image, status, address
    case statusMessage = "status_message"
    case sshUser = "ssh_user"
    case sshPort = "ssh_port"
    case sshHostPublicKey = "ssh_host_public_key"
    case ttlSeconds = "ttl_seconds"
    case createdAtMs = "created_at_ms"
    case expiresAtMs = "expires_at_ms"
  }
}

/// `agentcube session list --json`.
public struct CLISessionList: Decodable, Sendable {
  public var sessions: [CLISession]
  public var nextPageToken: String

  private enum CodingKeys: String, CodingKey {
    case sessions
    case nextPageToken = "next_page_token"
  }
}

/// `agentcube health --json`.
public struct CLIHealth: Decodable, Sendable {
  public var status: String
  public var version: String
  public var backend: String
  public var isolated: Bool
  public var isolationMessage: String

  private enum CodingKeys: String, CodingKey {
    case status, version, backend, isolated
    case isolationMessage = "isolation_message"
  }
}

/// A command's stdout did not decode as the JSON expected.
public struct UnexpectedOutput: Error, CustomStringConvertible {
  public var description: String
}

extension ProcessResult {
  /// Decodes stdout as `T`; the error names the command and shows its output.
  public func decode<T: Decodable>(_ type: T.Type) throws -> T {
    do {
      return try JSONDecoder().decode(T.self, from: Data(stdout.utf8))
    } catch {
      throw UnexpectedOutput(description: "cannot decode \(T.self) (\(error)) from \(self)")
    }
  }
}
