// Request and response messages of agentcube.v1.SessionService (Protos/agentcube/v1/session_service.proto).

/// `CreateSession` request.
public struct CreateSessionRequest: Hashable, Sendable {
  /// Image name; empty means the server's default.
  public var image: String
  /// TTL in seconds; 0 means the server's default.
  public var ttlSeconds: UInt32
  /// OpenSSH public key line installed as the only authorized key.
  public var sshPublicKey: String
  /// Metadata stored with the session.
  public var metadata: [KeyValue]
  /// Idle timeout in seconds; 0 means the server's default.
  public var idleTimeoutSeconds: UInt32
  /// The user SSH lets in with ``sshPublicKey``; empty means the server's default.
  public var sshUser: String

  public init(
    image: String = "", ttlSeconds: UInt32 = 0, sshPublicKey: String = "", metadata: [KeyValue] = [],
    idleTimeoutSeconds: UInt32 = 0, sshUser: String = ""
  ) {
    self.image = image
    self.ttlSeconds = ttlSeconds
    self.sshPublicKey = sshPublicKey
    self.metadata = metadata
    self.idleTimeoutSeconds = idleTimeoutSeconds
    self.sshUser = sshUser
  }
}

/// `CreateSession` response.
public struct CreateSessionResponse: Hashable, Sendable {
  public var session: Session
  public init(session: Session = Session()) { self.session = session }
}

/// `GetSession` request.
public struct GetSessionRequest: Hashable, Sendable {
  public var sessionID: String
  public init(sessionID: String = "") { self.sessionID = sessionID }
}

/// `GetSession` response.
public struct GetSessionResponse: Hashable, Sendable {
  public var session: Session
  public init(session: Session = Session()) { self.session = session }
}

/// `DeleteSession` request.
public struct DeleteSessionRequest: Hashable, Sendable {
  public var sessionID: String
  public init(sessionID: String = "") { self.sessionID = sessionID }
}

/// `DeleteSession` response (empty).
public struct DeleteSessionResponse: Hashable, Sendable {
  public init() {}
}

/// `ListSessions` request.
public struct ListSessionsRequest: Hashable, Sendable {
  /// 1...100; 0 means 50.
  public var pageSize: UInt32
  /// Opaque cursor from a previous response; empty for the first page.
  public var pageToken: String
  public init(pageSize: UInt32 = 0, pageToken: String = "") {
    self.pageSize = pageSize
    self.pageToken = pageToken
  }
}

/// `ListSessions` response.
public struct ListSessionsResponse: Hashable, Sendable {
  public var sessions: [Session]
  /// Empty when there are no more pages.
  public var nextPageToken: String
  public init(sessions: [Session] = [], nextPageToken: String = "") {
    self.sessions = sessions
    self.nextPageToken = nextPageToken
  }
}

/// `RenewSession` request.
public struct RenewSessionRequest: Hashable, Sendable {
  public var sessionID: String
  /// New TTL counted from now; 0 means the server's default.
  public var ttlSeconds: UInt32
  public init(sessionID: String = "", ttlSeconds: UInt32 = 0) {
    self.sessionID = sessionID
    self.ttlSeconds = ttlSeconds
  }
}

/// `RenewSession` response.
public struct RenewSessionResponse: Hashable, Sendable {
  public var session: Session
  public init(session: Session = Session()) { self.session = session }
}

/// `OpenTunnel` request.
public struct OpenTunnelRequest: Hashable, Sendable {
  public var sessionID: String
  /// 0 means the session's SSH port.
  public var port: UInt32
  public init(sessionID: String = "", port: UInt32 = 0) {
    self.sessionID = sessionID
    self.port = port
  }
}

/// `OpenTunnel` response, after which the connection carries raw bytes.
public struct OpenTunnelResponse: Hashable, Sendable {
  /// `address:port` the server connected to.
  public var target: String
  public init(target: String = "") { self.target = target }
}
