import NIOHTTP1

extension RouteID {
  /// `GET /api/v1/namespaces/{ns}/pods/{name}`.
  public static let podsGet = RouteID("pods.get")
  /// `GET /api/v1/namespaces/{ns}/pods` and `/api/v1/pods`.
  public static let podsList = RouteID("pods.list")
  /// The same with `watch=true`.
  public static let podsWatch = RouteID("pods.watch")
}

/// Core `v1` Pods, read-only to clients (the controller writes them): get, list, watch.
struct Pods: Sendable {
  var store: ObjectStore
  var watchSettings: @Sendable () -> WatchSettings

  var routes: [Route] {
    let type = ResourceType.pods
    let reads = ResourceReads(type: type, store: store, watchSettings: watchSettings, render: { $0 })
    return [
      Route(
        id: .podsList, method: .GET, path: "/api/v1/namespaces/{namespace}/pods",
        access: type.access("list", watchable: true), watchID: .podsWatch
      ) { try reads.listOrWatch($0) },
      Route(
        id: .podsList, method: .GET, path: "/api/v1/pods", access: type.access("list", namespaced: false, watchable: true),
        watchID: .podsWatch
      ) { try reads.listOrWatch($0) },
      Route(id: .podsGet, method: .GET, path: "/api/v1/namespaces/{namespace}/pods/{name}", access: type.access("get", named: true)) {
        try reads.get($0)
      },
    ]
  }
}
