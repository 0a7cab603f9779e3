/// Who is calling: a Kubernetes service account, as TokenReview or the token file reports it.
///
/// The username is always `system:serviceaccount:<namespace>:<name>`; any other user is rejected
/// when the identity is made, so every handler can rely on ``namespace`` and ``serviceAccount``.
public struct Identity: Hashable, Sendable, CustomStringConvertible {
  /// The full username, `system:serviceaccount:<namespace>:<name>`.
  public let username: String
  /// The namespace of the service account.
  public let namespace: String
  /// The service account's name.
  public let serviceAccount: String
  /// The user's uid, if the authenticator reports one.
  public let uid: String
  /// The user's groups.
  public let groups: [String]

  private static let prefix = "system:serviceaccount:"

  /// Creates an identity from a username, which must name a service account.
  ///
  /// - Throws: ``RPCError`` `UNAUTHENTICATED` when the username is not a service account.
  public init(username: String, uid: String = "", groups: [String] = []) throws(RPCError) {
    guard username.hasPrefix(Self.prefix) else {
      throw .unauthenticated("user is not a service account (system:serviceaccount:<namespace>:<name>)")
    }
    let parts = username.dropFirst(Self.prefix.count).split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, Self.isDNSLabel(parts[0]), Self.isDNSSubdomain(parts[1]) else {
      throw .unauthenticated("user is not a service account (system:serviceaccount:<namespace>:<name>)")
    }
    self.username = username
    self.namespace = String(parts[0])
    self.serviceAccount = String(parts[1])
    self.uid = uid
    self.groups = groups
  }

  public var description: String { username }

  /// RFC 1123 label: lower-case alphanumerics and '-', 1...63, alphanumeric at both ends.
  static func isDNSLabel(_ s: Substring) -> Bool {
    guard (1...63).contains(s.utf8.count), let f = s.utf8.first, let l = s.utf8.last,
      isAlnum(f), isAlnum(l)
    else { return false }
    return s.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
  }

  /// RFC 1123 subdomain: labels joined by '.', at most 253 characters.
  static func isDNSSubdomain(_ s: Substring) -> Bool {
    guard (1...253).contains(s.utf8.count) else { return false }
    return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel)
  }

  private static func isAlnum(_ c: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
  }
}
