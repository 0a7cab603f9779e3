import AgentCubeCore
import Foundation

extension KubernetesAPI {
  /// Opens a watch of the collection at `path`: `GET ?watch=1&resourceVersion=…&allowWatchBookmarks=true
  /// &timeoutSeconds=…&labelSelector=…`, returning once the server has answered; events then
  /// arrive through the returned stream.
  ///
  /// - Parameters:
  ///   - resourceVersion: where to resume (a list's or the last event's); `nil` or `"0"`: the
  ///     current state first, as ADDED events.
  ///   - timeoutSeconds: the server ends the watch then, cleanly (the stream just ends).
  ///   - maxEventBytes: the longest event line accepted; default 4 MiB.
  ///   - idleTimeout: the watch fails when nothing arrives for this long; default
  ///     `timeoutSeconds` + 30 s (a server that sends no bookmarks is quiet until its timeout).
  /// - Throws: ``KubernetesAPIError``: the status the server answered with (a 410 at the
  ///   start is not thrown but delivered as an `ERROR` event, as kube sends it mid-stream), or
  ///   `UNAVAILABLE` when it cannot be reached. Not retried: the caller resumes.
  public func watch<Object: Decodable & Sendable>(
    _ path: String, resourceVersion: String?, labelSelector: String? = nil, timeoutSeconds: Int,
    allowBookmarks: Bool = true, maxEventBytes: Int = 4 << 20, idleTimeout: Duration? = nil,
    of: Object.Type = Object.self
  ) async throws -> WatchEventStream<Object> {
    var query: [(String, String)] = [("watch", "1")]
    if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
    if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
    query.append(("timeoutSeconds", String(max(1, timeoutSeconds))))
    if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
    let request = HTTPRequest(
      method: "GET", url: server + path + QueryString.encode(query), headers: try requestHeaders())
    let options = HTTPStreamOptions(
      connectTimeout: min(requestTimeout, .seconds(5)),
      idleTimeout: idleTimeout ?? .seconds(max(1, timeoutSeconds) + 30))
    let response: HTTPStreamResponse
    do {
      response = try await http.stream(request, tls: tls, options: options)
    } catch let error as HTTPTransferError {
      throw KubernetesAPIError.unreachable(server, error)
    }
    guard (200..<300).contains(response.status) else {
      let body = await response.collect(upTo: 64 << 10)
      let status = body.flatMap { try? JSONDecoder().decode(KubernetesStatus.self, from: Data($0)) }
      if response.status == 410 {
        return WatchEventStream(
          single: .error(
            status
              ?? KubernetesStatus(kind: "Status", status: "Failure", message: "HTTP 410", reason: "Expired", code: 410)),
          path: path)
      }
      let retryAfter = response.headers["retry-after"].flatMap { Int($0) }.map { min(max($0, 0), 60) }
      throw KubernetesAPIError.answered(response.status, body: status, retryAfterSeconds: retryAfter)
    }
    return WatchEventStream(response: response, maxEventBytes: maxEventBytes, path: path)
  }
}
