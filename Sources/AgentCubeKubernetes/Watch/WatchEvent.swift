/// One event of a Kubernetes watch (`{"type":…,"object":…}`), typed.
public enum WatchEvent<Object: Decodable & Sendable>: Sendable {
  case added(Object)
  case modified(Object)
  /// The object's last state, carrying the delete's resourceVersion.
  case deleted(Object)
  /// Progress without a change: the watch has seen everything up to `metadata.resourceVersion`
  /// (a bookmark's object is metadata only).
  case bookmark(ObjectMeta)
  /// The watch failed; the stream ends. 410 (`Expired`, `Gone`): the resourceVersion is too old,
  /// list again (``KubernetesStatus/isExpired``).
  case error(KubernetesStatus)
}

extension WatchEvent: Decodable {
  private enum CodingKeys: String, CodingKey {
    case type, object
  }

  private struct BookmarkObject: Decodable {
    var metadata: ObjectMeta
  }

  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let type = try container.decode(String.self, forKey: .type)
    switch type {
    case "ADDED": self = .added(try container.decode(Object.self, forKey: .object))
    case "MODIFIED": self = .modified(try container.decode(Object.self, forKey: .object))
    case "DELETED": self = .deleted(try container.decode(Object.self, forKey: .object))
    case "BOOKMARK": self = .bookmark(try container.decode(BookmarkObject.self, forKey: .object).metadata)
    case "ERROR": self = .error(try container.decode(KubernetesStatus.self, forKey: .object))
    default:
      throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown watch event type")
    }
  }
}

extension KubernetesStatus {
  /// 410: a resourceVersion or continue token older than the server's history; list again.
  public var isExpired: Bool { code == 410 || reason == "Expired" || reason == "Gone" }
}
