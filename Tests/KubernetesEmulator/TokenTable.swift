import Synchronization

/// A user as an authenticator reports it (TokenReview's `status.user`).
public struct EmulatedUser: Sendable, Hashable, Codable {
  public var username: String
  public var uid: String
  public var groups: [String]
  /// `status.user.extra`, e.g. `authentication.kubernetes.io/pod-name`.
  public var extra: [String: [String]]

  public init(username: String, uid: String, groups: [String] = [], extra: [String: [String]] = [:]) {
    self.username = username
    self.uid = uid
    self.groups = groups
    self.extra = extra
  }

  /// A service account's user: `system:serviceaccount:<ns>:<name>` in the groups kube gives it.
  public static func serviceAccount(
    namespace: String, name: String, uid: String, extra: [String: [String]] = [:]
  ) -> EmulatedUser {
    EmulatedUser(
      username: "system:serviceaccount:\(namespace):\(name)", uid: uid,
      groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"],
      extra: extra)
  }
}

/// One RBAC rule: `verb` on `resource` in API `group` ("" for the core group); `"*"` matches any
/// verb or resource; `namespace` `nil` grants it cluster-wide (every namespace and the cluster scope).
public struct Permission: Sendable, Hashable, Codable {
  public var verb: String
  public var group: String
  public var resource: String
  public var namespace: String?

  public init(verb: String, group: String, resource: String, namespace: String? = nil) {
    self.verb = verb
    self.group = group
    self.resource = resource
    self.namespace = namespace
  }

  /// `create tokenreviews.authentication.k8s.io`: what `system:auth-delegator` grants.
  public static let createTokenReviews = Permission(
    verb: "create", group: "authentication.k8s.io", resource: "tokenreviews")

  func allows(_ access: AccessRequest) -> Bool {
    (verb == "*" || verb == access.verb) && group == access.group
      && (resource == "*" || resource == access.resource)
      && (namespace == nil || namespace == access.namespace)
  }
}

/// A bearer token the emulator knows: whom it authenticates, for which audiences, what that user may do.
public struct TokenRecord: Sendable, Codable, CustomStringConvertible {
  /// The secret itself; never printed (``description`` leaves it out).
  public var token: String
  public var user: EmulatedUser
  /// The audiences the token was issued for; `nil` accepts any (a legacy, audience-less token).
  public var audiences: [String]?
  /// What this token's user may do (checked on every request made with it).
  public var permissions: Set<Permission>
  /// An expired token: 401 as a credential, `authenticated: false` in a TokenReview.
  public var expired: Bool

  public init(
    token: String, user: EmulatedUser, audiences: [String]? = nil, permissions: Set<Permission> = [],
    expired: Bool = false
  ) {
    self.token = token
    self.user = user
    self.audiences = audiences
    self.permissions = permissions
    self.expired = expired
  }

  public var description: String {
    "TokenRecord(user: \(user.username), audiences: \(audiences.map { "\($0)" } ?? "any"), expired: \(expired))"
  }

  enum CodingKeys: String, CodingKey {
    case token, user, audiences, permissions, expired
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    token = try container.decode(String.self, forKey: .token)
    user = try container.decode(EmulatedUser.self, forKey: .user)
    audiences = try container.decodeIfPresent([String].self, forKey: .audiences)
    permissions = try container.decodeIfPresent(Set<Permission>.self, forKey: .permissions) ?? []
    expired = try container.decodeIfPresent(Bool.self, forKey: .expired) ?? false
  }
}

/// The tokens the emulator accepts, changeable while it runs (thread-safe): add, expire, revoke.
public final class TokenTable: Sendable {
  /// What a token is to the emulator.
  public enum Lookup: Sendable {
    case valid(TokenRecord)
    case expired(TokenRecord)
    case revoked(TokenRecord)
    case unknown
  }

  private struct Entry {
    var record: TokenRecord
    var revoked = false
  }

  private let entries: Mutex<[String: Entry]>

  public init(_ records: [TokenRecord] = []) {
    entries = Mutex(Dictionary(records.map { ($0.token, Entry(record: $0)) }, uniquingKeysWith: { $1 }))
  }

  /// Adds `record`, replacing any record of the same token.
  public func add(_ record: TokenRecord) {
    entries.withLock { $0[record.token] = Entry(record: record) }
  }

  /// Revokes `token` (as deleting its pod or secret does): it stops authenticating from now on.
  public func revoke(_ token: String) {
    entries.withLock { $0[token]?.revoked = true }
  }

  /// Marks `token` expired from now on.
  public func expire(_ token: String) {
    entries.withLock { $0[token]?.record.expired = true }
  }

  /// Forgets `token`: unknown from now on.
  public func remove(_ token: String) {
    _ = entries.withLock { $0.removeValue(forKey: token) }
  }

  public func lookup(_ token: String) -> Lookup {
    guard let entry = entries.withLock({ $0[token] }) else { return .unknown }
    if entry.revoked { return .revoked(entry.record) }
    if entry.record.expired { return .expired(entry.record) }
    return .valid(entry.record)
  }
}
