import Foundation
import NIOHTTP1

/// `POST /apis/authentication.k8s.io/v1/tokenreviews`: reviews `spec.token` against the token table.
enum TokenReviews {
  static func route(tokens: TokenTable, apiAudiences: [String]) -> Route {
    Route(
      id: .tokenReviews, method: .POST, path: "/apis/authentication.k8s.io/v1/tokenreviews",
      access: RouteAccess(verb: "create", group: "authentication.k8s.io", resource: "tokenreviews")
    ) { request in
      var object = try request.jsonObject()
      let spec = object["spec"] as? [String: Any] ?? [:]
      guard let token = spec["token"] as? String, !token.isEmpty else {
        throw KubeStatus.badRequest("token is required for TokenReview in authentication")
      }
      let requested = (spec["audiences"] as? [Any])?.compactMap { $0 as? String } ?? []
      object["kind"] = "TokenReview"
      object["apiVersion"] = "authentication.k8s.io/v1"
      if object["metadata"] == nil { object["metadata"] = ["creationTimestamp": NSNull()] }
      object["status"] = status(of: tokens.lookup(token), requested: requested, apiAudiences: apiAudiences)
      return EmulatorResponse(status: .created, json: try JSONBody.encode(object))
    }
  }

  /// The review's `status`. With no audiences requested the API server's own are the target, as in kube.
  static func status(of lookup: TokenTable.Lookup, requested: [String], apiAudiences: [String]) -> [String: Any] {
    let record: TokenRecord
    switch lookup {
    case .unknown: return failure("invalid bearer token")
    case .expired: return failure("invalid bearer token, service account token has expired")
    case .revoked: return failure("invalid bearer token, service account token has been invalidated")
    case .valid(let valid): record = valid
    }
    let targets = requested.isEmpty ? apiAudiences : requested
    let granted = record.audiences.map { own in targets.filter(own.contains) } ?? targets
    guard !granted.isEmpty else {
      return failure(
        "invalid bearer token, token audiences \(goQuoted(record.audiences ?? [])) is invalid for the target audiences \(goQuoted(targets))"
      )
    }
    var user: [String: Any] = ["username": record.user.username, "uid": record.user.uid, "groups": record.user.groups]
    if !record.user.extra.isEmpty { user["extra"] = record.user.extra }
    return ["authenticated": true, "user": user, "audiences": granted]
  }

  private static func failure(_ reason: String) -> [String: Any] {
    ["authenticated": false, "user": [String: Any](), "error": "[\(reason)]"]
  }

  /// Go's `%q` of a `[]string`: `["a" "b"]`.
  private static func goQuoted(_ strings: [String]) -> String {
    "[" + strings.map(JSONText.quoted).joined(separator: " ") + "]"
  }
}
