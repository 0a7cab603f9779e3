public import AgentCubeCore
import Foundation
import Synchronization

/// Authenticates against a static token file in kube-apiserver's `--token-auth-file` format.
///
/// Each line is `token,user,uid,"group1,group2"` (the groups column is optional); blank lines and
/// lines starting with `#` are skipped. The file is re-read when it changes (checked at most once
/// a second), so tokens can be added or revoked without a restart. As with TokenReview, only users
/// named `system:serviceaccount:<namespace>:<name>` are accepted.
public final class TokenFileAuthenticator: Authenticator {
  /// A token's user, checked once when the file is read: its identity, or why it has none
  /// (a user that is not a service account).
  typealias Entry = Result<Identity, RPCError>

  private struct State {
    var entries: [String: Entry]
    var modified: Date?
    var lastCheck: ContinuousClock.Instant
  }

  private let path: String
  private let state: Mutex<State>

  /// Loads `path`.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `FAILED_PRECONDITION` when the file cannot be read or
  ///   a line is malformed (the message names the line, never its token).
  public init(path: String) throws {
    self.path = path
    let (entries, modified) = try Self.load(path: path)
    state = Mutex(State(entries: entries, modified: modified, lastCheck: .now))
  }

  public func authenticate(_ token: BearerToken) async throws -> Identity {
    reloadIfChanged()
    guard let entry = state.withLock({ $0.entries[token.secret] }) else {
      throw RPCError.unauthenticated("invalid bearer token")
    }
    return try entry.get()
  }

  private func reloadIfChanged() {
    let now = ContinuousClock.now
    let due = state.withLock { state in
      guard state.lastCheck.duration(to: now) >= .seconds(1) else { return false }
      state.lastCheck = now
      return true
    }
    guard due else { return }
    let modified = Self.modificationDate(path: path)
    guard modified != state.withLock({ $0.modified }) else { return }
    // A broken edit keeps the last good set of tokens rather than locking everyone out.
    guard let (entries, modified) = try? Self.load(path: path) else { return }
    state.withLock {
      $0.entries = entries
      $0.modified = modified
    }
  }

  static func modificationDate(path: String) -> Date? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
  }

  static func load(path: String) throws -> ([String: Entry], Date?) {
    let modified = modificationDate(path: path)
    guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
      throw RPCError.failedPrecondition("cannot read the token file \(path)")
    }
    var entries: [String: Entry] = [:]
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = try parseCSVLine(line, lineNumber: index + 1, path: path)
      guard fields.count >= 3, !fields[0].isEmpty, !fields[1].isEmpty else {
        throw RPCError.failedPrecondition("\(path):\(index + 1): expected token,user,uid[,\"groups\"]")
      }
      let groups = fields.count > 3 ? fields[3].split(separator: ",").map { String($0) } : []
      entries[fields[0]] = Result { () throws(RPCError) in try Identity(username: fields[1], uid: fields[2], groups: groups) }
    }
    return (entries, modified)
  }

  /// Splits one CSV line; double quotes group commas, `""` inside quotes is a quote.
  static func parseCSVLine(_ line: String, lineNumber: Int, path: String) throws -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    var iterator = line.makeIterator()
    while let character = iterator.next() {
      switch (character, quoted) {
      case ("\"", false) where field.isEmpty: quoted = true
      case ("\"", true):
        if let next = iterator.next() {
          if next == "\"" { field.append("\"") } else if next == "," {
            quoted = false
            fields.append(field)
            field = ""
          } else {
            throw RPCError.failedPrecondition("\(path):\(lineNumber): stray quote")
          }
        } else {
          quoted = false
        }
      case (",", false):
        fields.append(field)
        field = ""
      default: field.append(character)
      }
    }
    guard !quoted else { throw RPCError.failedPrecondition("\(path):\(lineNumber): unterminated quote") }
    fields.append(field)
    return fields
  }
}
