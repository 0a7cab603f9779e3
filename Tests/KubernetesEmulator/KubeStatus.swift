import NIOHTTP1

/// A Kubernetes `Status` object (`kind: Status`, `apiVersion: v1`), the body of every failure the
/// API server answers; thrown by route handlers to answer with it.
///
/// ```swift
/// throw KubeStatus.badRequest("token is required for TokenReview in authentication")
/// ```
public struct KubeStatus: Error, Sendable, Hashable {
  /// `details` of a Status: what the failure is about.
  public struct Details: Sendable, Hashable {
    public var name: String?
    public var group: String?
    public var kind: String?

    public init(name: String? = nil, group: String? = nil, kind: String? = nil) {
      self.name = name
      self.group = group
      self.kind = kind
    }
  }

  public var code: Int
  public var reason: String
  public var message: String
  /// `nil` leaves `details` out, as the API server does for 401.
  public var details: Details?

  public init(code: Int, reason: String, message: String, details: Details? = nil) {
    self.code = code
    self.reason = reason
    self.message = message
    self.details = details
  }

  /// 401, exactly as kube-apiserver answers any request whose credentials it does not accept.
  public static let unauthorized = KubeStatus(code: 401, reason: "Unauthorized", message: "Unauthorized")

  /// 400 BadRequest.
  public static func badRequest(_ message: String) -> KubeStatus {
    KubeStatus(code: 400, reason: "BadRequest", message: message)
  }

  /// 404 for a path no route serves, in the API server's words.
  public static let pathNotFound = KubeStatus(
    code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: Details())

  /// 405 for a served path asked with another method.
  public static let methodNotAllowed = KubeStatus(
    code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource",
    details: Details())

  /// 413 for a body over the emulator's limit.
  public static let requestEntityTooLarge = KubeStatus(
    code: 413, reason: "RequestEntityTooLarge", message: "the request is too large")

  /// 500 InternalError, as an injected fault or an unexpected handler error answers.
  public static func internalError(_ message: String = "Internal error occurred: injected fault") -> KubeStatus {
    KubeStatus(code: 500, reason: "InternalError", message: message, details: Details())
  }

  /// 429 TooManyRequests, as API Priority and Fairness answers (the `Retry-After` header is the
  /// response's; `details.retryAfterSeconds` is not emitted).
  public static let tooManyRequests = KubeStatus(
    code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.", details: Details())

  /// The 403 of an authorizer that denied `verb` on `resource` to `user`, word for word as
  /// kube-apiserver says it; `namespace` `nil` is the cluster scope.
  public static func forbidden(
    user: String, verb: String, group: String, resource: String, namespace: String?, name: String? = nil
  ) -> KubeStatus {
    let qualified = group.isEmpty ? resource : "\(resource).\(group)"
    let subject = name.map { "\(qualified) \"\($0)\"" } ?? qualified
    let scope = namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
    let message =
      "\(subject) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resource)\" in API group \"\(group)\"\(scope)"
    return KubeStatus(
      code: 403, reason: "Forbidden", message: message,
      details: Details(name: name, group: group.isEmpty ? nil : group, kind: resource))
  }

  /// The JSON body, keys in the API server's order:
  /// `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":…,"reason":…,"details":…,"code":…}`.
  public var json: String {
    var fields = [
      "\"kind\":\"Status\"", "\"apiVersion\":\"v1\"", "\"metadata\":{}", "\"status\":\"Failure\"",
      "\"message\":\(JSONText.quoted(message))", "\"reason\":\(JSONText.quoted(reason))",
    ]
    if let details {
      var parts: [String] = []
      if let name = details.name { parts.append("\"name\":\(JSONText.quoted(name))") }
      if let group = details.group { parts.append("\"group\":\(JSONText.quoted(group))") }
      if let kind = details.kind { parts.append("\"kind\":\(JSONText.quoted(kind))") }
      fields.append("\"details\":{\(parts.joined(separator: ","))}")
    }
    fields.append("\"code\":\(code)")
    return "{" + fields.joined(separator: ",") + "}"
  }

  /// The response carrying this Status.
  public var response: EmulatorResponse {
    EmulatorResponse(status: HTTPResponseStatus(statusCode: code), json: Array(json.utf8))
  }
}

/// JSON string literals, for bodies written by hand in a fixed key order.
enum JSONText {
  static func quoted(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        out +=
          "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
          + String(scalar.value, radix: 16)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
