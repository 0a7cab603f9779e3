import Foundation
import Synchronization

/// Where the client's bearer token comes from.
///
/// A file is re-read when it changes (checked at most once a second), as Kubernetes rotates
/// projected service-account tokens.
public struct TokenSource: Sendable {
  enum Kind: Sendable {
    case none
    case token(String)
    case file(TokenFile)
  }

  let kind: Kind

  /// No token (only Health works).
  public static var none: Self { Self(kind: .none) }
  /// A fixed token; surrounding white space is ignored.
  public static func token(_ token: String) -> Self {
    Self(kind: .token(token.trimmingCharacters(in: .whitespacesAndNewlines)))
  }
  /// A token file, re-read when it changes.
  public static func file(_ path: String) -> Self { Self(kind: .file(TokenFile(path: path))) }

  /// The current token, or `nil` for ``none``.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `UNAUTHENTICATED` when the file cannot be read or is empty.
  func currentToken() throws -> String? {
    switch kind {
    case .none: return nil
    case .token(let token):
      guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
        throw RPCError.invalidArgument("the client's bearer token is empty or contains white space")
      }
      return token
    case .file(let file): return try file.current()
    }
  }
}

/// A token file with its last contents, re-read when its modification time changes.
final class TokenFile: Sendable {
  private struct Cached {
    var token: String
    var modified: Date?
    var checked: ContinuousClock.Instant
  }

  let path: String
  private let cache = Mutex<Cached?>(nil)

  init(path: String) { self.path = path }

  func current() throws -> String {
    let now = ContinuousClock.now
    if let cached = cache.withLock({ $0 }), cached.checked.duration(to: now) < .seconds(1) { return cached.token }
    let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    if let cached = cache.withLock({ $0 }), cached.modified == modified, modified != nil {
      cache.withLock { $0?.checked = now }
      return cached.token
    }
    guard let data = FileManager.default.contents(atPath: path),
      let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
    else {
      throw RPCError.invalidArgument("the client cannot read a bearer token from \(path)")
    }
    cache.withLock { $0 = Cached(token: token, modified: modified, checked: now) }
    return token
  }
}
