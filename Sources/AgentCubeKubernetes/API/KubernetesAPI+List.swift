import Foundation

extension KubernetesAPI {
  /// One page of the collection at `path` (e.g. ``SandboxAPIVersion/path(namespace:name:)``): `GET`
  /// with `labelSelector`, `limit` and the previous page's `continue` token; retried as idempotent.
  ///
  /// The answer's `metadata.continue` names the next page (`nil` on the last); every page of one
  /// list is the snapshot of the first, at its `metadata.resourceVersion` (the point to watch from).
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` as ``send(_:_:body:idempotent:as:)`` maps failures
  ///   (an expired `continue` token is Kubernetes' 410: list again from the first page).
  public func list<Item: Decodable & Sendable>(
    _ path: String, labelSelector: String? = nil, limit: Int? = nil, continue token: String? = nil,
    of: Item.Type = Item.self
  ) async throws -> ObjectList<Item> {
    var query: [(String, String)] = []
    if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
    if let limit, limit > 0 { query.append(("limit", String(limit))) }
    if let token, !token.isEmpty { query.append(("continue", token)) }
    return try await send("GET", path + QueryString.encode(query), body: NoBody?.none, idempotent: true)
  }
}

/// `?name=value&…` with every value percent-encoded (selectors carry `=`, `,`, `!`; continue
/// tokens are base64).
enum QueryString {
  private static let unreserved = CharacterSet(
    charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

  static func encode(_ items: [(String, String)]) -> String {
    guard !items.isEmpty else { return "" }
    return "?"
      + items.map { name, value in
        "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")"
      }.joined(separator: "&")
  }
}
