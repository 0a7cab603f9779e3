/// A bearer token. Its description is redacted so that it never reaches a log or an error.
public struct BearerToken: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
  /// The secret itself. Send it; never print it.
  public let secret: String

  /// Wraps a token.
  public init(_ secret: String) { self.secret = secret }

  /// Parses an `authorization` value of the form `Bearer <token>`.
  ///
  /// - Throws: ``RPCError`` `UNAUTHENTICATED` when the scheme is not Bearer or the token is empty.
  public init(authorizationValue value: String) throws(RPCError) {
    let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else {
      throw .unauthenticated("authorization metadata must be 'Bearer <token>'")
    }
    let token = parts[1].trimmingCharacters(in: " \t")
    guard !token.isEmpty, !token.contains(where: { $0 == " " || $0 == "\t" }) else {
      throw .unauthenticated("authorization metadata must be 'Bearer <token>'")
    }
    self.secret = token
  }

  public var description: String { "<redacted>" }
  public var debugDescription: String { "BearerToken(<redacted>)" }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> String {
    var s = self[...]
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
  }
}
