import AgentCubeCore
import Foundation

/// The opaque ListSessions cursor: the position of the last session of the previous page
/// (creation time and id), base64url-encoded so clients do not depend on its shape.
struct PageToken: Equatable {
  var createdAtMs: Int64
  var id: String

  init(after session: Session) {
    createdAtMs = session.createdAtMs
    id = session.id
  }

  init(parsing token: String) throws(RPCError) {
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    guard token.utf8.count <= 256, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8)
    else { throw .invalidArgument("page_token is not a token this server issued") }
    let parts = text.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, let createdAtMs = Int64(parts[0]) else {
      throw .invalidArgument("page_token is not a token this server issued")
    }
    self.createdAtMs = createdAtMs
    self.id = String(parts[1])
  }

  var encoded: String {
    Data("\(createdAtMs):\(id)".utf8).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// Whether `session` comes after this position (sessions are ordered by creation time, then id).
  func precedes(_ session: Session) -> Bool {
    (session.createdAtMs, session.id) > (createdAtMs, id)
  }
}
