import AgentCube
import ArgumentParser
import Foundation

/// The token a command sends, and the literal one (if any) to keep out of error messages.
struct ClientToken {
  /// What the client sends.
  let source: TokenSource
  /// The token given on the command line or in the environment; never printed.
  let literal: String?

  /// No token: only `health` works.
  static var none: Self { Self(source: .none, literal: nil) }

  /// A token given as text; `origin` names the option or variable in errors.
  static func literal(_ token: String, source origin: String) throws -> Self {
    let token = token.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !token.isEmpty else { throw ValidationError("\(origin) is empty") }
    return Self(source: .token(token), literal: token)
  }

  /// A token file, which the SDK re-reads when it changes.
  static func file(_ path: String, source origin: String) throws -> Self {
    guard !path.isEmpty else { throw ValidationError("\(origin) is empty") }
    return Self(source: .file(path), literal: nil)
  }
}
