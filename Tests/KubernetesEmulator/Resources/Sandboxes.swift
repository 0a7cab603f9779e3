import Foundation
import NIOHTTP1

extension RouteID {
  /// `POST …/namespaces/{ns}/sandboxes`.
  public static let sandboxesCreate = RouteID("sandboxes.create")
  /// `GET …/namespaces/{ns}/sandboxes/{name}`.
  public static let sandboxesGet = RouteID("sandboxes.get")
  /// `GET …/sandboxes` (a namespace's or all).
  public static let sandboxesList = RouteID("sandboxes.list")
  /// `GET …/sandboxes?watch=true` (a namespace's or all).
  public static let sandboxesWatch = RouteID("sandboxes.watch")
  /// `PUT …/sandboxes/{name}`.
  public static let sandboxesUpdate = RouteID("sandboxes.update")
  /// `PATCH …/sandboxes/{name}`.
  public static let sandboxesPatch = RouteID("sandboxes.patch")
  /// `DELETE …/sandboxes/{name}`.
  public static let sandboxesDelete = RouteID("sandboxes.delete")
}

/// `agents.x-k8s.io` Sandboxes for each served version: create, get, list, watch, update, patch, delete.
struct Sandboxes: Sendable {
  var store: ObjectStore
  var now: @Sendable () -> Date
  var watchSettings: @Sendable () -> WatchSettings

  func routes(versions: [SandboxVersion]) -> [Route] {
    versions.flatMap(routes(version:))
  }

  private func routes(version: SandboxVersion) -> [Route] {
    let type = ResourceType.sandboxes(version)
    var headers = HTTPHeaders()
    if version == .v1alpha1 { headers.add(name: "Warning", value: "299 - \(JSONText.quoted(SandboxSchema.deprecation))") }
    let reads = ResourceReads(
      type: type, store: store, watchSettings: watchSettings, render: { SandboxSchema.render($0, as: version) },
      headers: headers)
    let writes = SandboxWrites(type: type, version: version, store: store, now: now, headers: headers)
    let collection = PathPattern("\(type.prefix)/namespaces/{namespace}/sandboxes")
    let object = PathPattern("\(type.prefix)/namespaces/{namespace}/sandboxes/{name}")
    return [
      Route(id: .sandboxesCreate, method: .POST, path: collection, access: type.access("create")) {
        try writes.create($0)
      },
      Route(
        id: .sandboxesList, method: .GET, path: collection, access: type.access("list", watchable: true),
        watchID: .sandboxesWatch
      ) { try reads.listOrWatch($0) },
      Route(
        id: .sandboxesList, method: .GET, path: PathPattern("\(type.prefix)/sandboxes"),
        access: type.access("list", namespaced: false, watchable: true), watchID: .sandboxesWatch
      ) { try reads.listOrWatch($0) },
      Route(id: .sandboxesGet, method: .GET, path: object, access: type.access("get", named: true)) {
        try reads.get($0)
      },
      Route(id: .sandboxesUpdate, method: .PUT, path: object, access: type.access("update", named: true)) {
        try writes.update($0)
      },
      Route(id: .sandboxesPatch, method: .PATCH, path: object, access: type.access("patch", named: true)) {
        try writes.patch($0)
      },
      Route(id: .sandboxesDelete, method: .DELETE, path: object, access: type.access("delete", named: true)) {
        try writes.delete($0)
      },
    ]
  }
}
