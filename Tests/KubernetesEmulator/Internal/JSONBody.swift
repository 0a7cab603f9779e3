import Foundation

/// JSON in and out of Foundation's serialization, with the API server's 400 for what does not parse.
/// The `[String: Any]` values stay local to one handler.
enum JSONBody {
  static func object(_ bytes: [UInt8]) throws -> [String: Any] {
    let parsed: Any
    do {
      parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
      throw KubeStatus.badRequest(
        "the body of the request was in an unknown format - accepted media types include: "
          + "application/json, application/yaml, application/vnd.kubernetes.protobuf")
    }
    guard let object = parsed as? [String: Any] else {
      throw KubeStatus.badRequest("couldn't get version/kind; json parse error: the body is not a JSON object")
    }
    return object
  }

  static func encode(_ object: [String: Any]) throws -> [UInt8] {
    Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
  }
}
