import Foundation
import NIOHTTP1

/// `get`, `list` (with selectors and `limit`/`continue` paging) and `watch` of one resource type,
/// as every kube resource answers them.
struct ResourceReads: Sendable {
  var type: ResourceType
  var store: ObjectStore
  var watchSettings: @Sendable () -> WatchSettings
  /// A stored object as this version shows it.
  var render: @Sendable (JSONValue) -> JSONValue
  /// Headers every answer carries (deprecation warnings).
  var headers: HTTPHeaders = [:]

  func get(_ request: EmulatorRequest) throws -> EmulatorResponse {
    let namespace = request.pathParameters["namespace"] ?? ""
    let name = request.pathParameters["name"] ?? ""
    guard let stored = store.get(type.key(namespace, name)) else { throw type.notFound(name) }
    return EmulatorResponse(status: .ok, json: render(stored).bytes, headers: headers)
  }

  /// A list or, with `watch=true`, a watch; all namespaces when the route has none.
  func listOrWatch(_ request: EmulatorRequest) throws -> EmulatorResponse {
    var filter = ObjectFilter(resource: type.resource, namespace: request.pathParameters["namespace"])
    if let text = request.query["labelSelector"] { filter.labels = try LabelSelector(parsing: text) }
    if let text = request.query["fieldSelector"] {
      filter.fields = try FieldSelector(
        parsing: text, supported: ["metadata.name", "metadata.namespace"] + type.extraFieldSelectors)
    }
    if request.isWatch {
      let (revision, bookmarks, timeout) = try WatchResponse.from(request.query)
      let settings = watchSettings()
      var response = WatchResponse(
        store: store, filter: filter, from: revision, bookmarks: bookmarks, timeout: timeout ?? settings.defaultTimeout,
        settings: settings, apiVersion: type.apiVersion, kind: type.kind, render: render
      ).response
      for (name, value) in headers { response.headers.add(name: name, value: value) }
      return response
    }
    return try list(request, filter: filter)
  }

  private func list(_ request: EmulatorRequest, filter: ObjectFilter) throws -> EmulatorResponse {
    var limit: Int?
    if let text = request.query["limit"], !text.isEmpty {
      guard let value = Int(text), value >= 0 else { throw KubeStatus.badRequest("invalid value for limit: \(text)") }
      limit = value == 0 ? nil : value
    }
    var revision: Int?
    var start: String?
    if let token = request.query["continue"], !token.isEmpty {
      if let version = request.query["resourceVersion"], !version.isEmpty {
        throw KubeStatus.badRequest("specifying resource version is not allowed when using continue")
      }
      (revision, start) = try ContinueToken.decode(token)
    }
    guard let page = store.list(filter, at: revision, after: start, limit: limit) else {
      throw KubeStatus.expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."
      )
    }
    var metadata: JSONValue = ["resourceVersion": .string(String(page.revision))]
    if page.more, let last = page.items.last {
      let position = "\(last["metadata"]["namespace"].string ?? "")/\(last["metadata"]["name"].string ?? "")"
      metadata["continue"] = .string(ContinueToken.encode(revision: page.revision, start: position))
      if filter.labels == .everything && filter.fields == .everything {
        metadata["remainingItemCount"] = .int(Int64(page.remaining))
      }
    }
    let list: JSONValue = [
      "apiVersion": .string(type.apiVersion), "kind": .string(type.listKind), "metadata": metadata,
      "items": .array(page.items.map(render)),
    ]
    return EmulatorResponse(status: .ok, json: list.bytes, headers: headers)
  }
}

/// kube's continue token: base64url (no padding) of `{"v":"meta.k8s.io/v1","rv":N,"start":"ns/name\u0000"}`.
enum ContinueToken {
  static func encode(revision: Int, start: String) -> String {
    let json: JSONValue = ["v": "meta.k8s.io/v1", "rv": .int(Int64(revision)), "start": .string(start + "\u{0}")]
    return Data(json.bytes).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_")
      .replacing("=", with: "")
  }

  /// The revision and the position to continue after; 400 for a token kube would not take.
  static func decode(_ token: String) throws -> (revision: Int, start: String) {
    var base64 = token.replacing("-", with: "+").replacing("_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    guard let data = Data(base64Encoded: base64), let json = try? JSONValue(parsing: Array(data)),
      json["v"].string == "meta.k8s.io/v1", let revision = json["rv"].int, revision > 0,
      let start = json["start"].string
    else {
      throw KubeStatus.badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    }
    return (Int(revision), start.hasSuffix("\u{0}") ? String(start.dropLast()) : start)
  }
}
