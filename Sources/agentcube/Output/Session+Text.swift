import AgentCube
import Foundation

extension Session {
  /// The columns of `session list`.
  static let tableHeader = ["ID", "NAME", "STATUS", "IMAGE", "CREATED", "EXPIRES IN", "SSH"]

  /// This session's row of `session list`.
  func tableRow(now: Date) -> [String] {
    [
      id, name, status.description, image, TimeFormat.ago(createdAtMs, now: now),
      TimeFormat.remaining(until: expiresAtMs, now: now), sshEndpoint,
    ]
  }

  /// The lines of `session get`, `create` and `renew`.
  func fields(now: Date) -> [(key: String, value: String)] {
    var fields: [(key: String, value: String)] = [("id", id), ("name", name), ("status", status.description)]
    if !statusMessage.isEmpty { fields.append(("message", statusMessage)) }
    fields += [
      ("image", image),
      ("created", timeAndAge(createdAtMs, now: now)),
      ("expires in", TimeFormat.remaining(until: expiresAtMs, now: now)),
      ("ttl", ttlSeconds == 0 ? "-" : TimeFormat.duration(seconds: Int64(ttlSeconds))),
      ("idle timeout", idleTimeoutSeconds == 0 ? "none" : TimeFormat.duration(seconds: Int64(idleTimeoutSeconds))),
      ("last active", timeAndAge(lastActivityAtMs, now: now)),
      ("ssh", sshEndpoint),
    ]
    if !sshHostPublicKey.isEmpty { fields.append(("host key", sshHostPublicKey)) }
    if !metadata.isEmpty {
      fields.append(("metadata", metadata.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")))
    }
    return fields
  }

  /// `user@address:port` to log in over SSH, or `-` while the session has no address.
  var sshEndpoint: String {
    guard !address.isEmpty, sshPort != 0 else { return "-" }
    let host = address.contains(":") ? "[\(address)]" : address
    return "\(sshUser.isEmpty ? "" : "\(sshUser)@")\(host):\(sshPort)"
  }

  private func timeAndAge(_ ms: Int64, now: Date) -> String {
    guard let time = TimeFormat.rfc3339(ms: ms) else { return "-" }
    return "\(time) (\(TimeFormat.ago(ms, now: now)))"
  }
}
