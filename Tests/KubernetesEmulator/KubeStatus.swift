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
    /// Field-level causes of a 422 `Invalid`.
    public var causes: [Cause]

    public init(name: String? = nil, group: String? = nil, kind: String? = nil, causes: [Cause] = []) {
      self.name = name
      self.group = group
      self.kind = kind
      self.causes = causes
    }
  }

  /// One entry of `details.causes`: `reason` such as `FieldValueRequired`, the message, the field path.
  public struct Cause: Sendable, Hashable {
    public var reason: String
    public var message: String
    public var field: String

    public init(reason: String, message: String, field: String) {
      self.reason = reason
      self.message = message
      self.field = field
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

  /// 404 for a missing object: `sandboxes.agents.x-k8s.io "s1" not found` (core group: `pods "p" not found`).
  public static func notFound(group: String, resource: String, name: String) -> KubeStatus {
    KubeStatus(
      code: 404, reason: "NotFound", message: "\(qualified(group, resource)) \"\(name)\" not found",
      details: Details(name: name, group: group.isEmpty ? nil : group, kind: resource))
  }

  /// 409 for a create whose name is taken.
  public static func alreadyExists(group: String, resource: String, name: String) -> KubeStatus {
    KubeStatus(
      code: 409, reason: "AlreadyExists", message: "\(qualified(group, resource)) \"\(name)\" already exists",
      details: Details(name: name, group: group.isEmpty ? nil : group, kind: resource))
  }

  /// 409 Conflict: `Operation cannot be fulfilled on sandboxes.agents.x-k8s.io "s1": <why>`; `why`
  /// defaults to the stale-resourceVersion wording of an update.
  public static func conflict(
    group: String, resource: String, name: String,
    why: String = "the object has been modified; please apply your changes to the latest version and try again"
  ) -> KubeStatus {
    KubeStatus(
      code: 409, reason: "Conflict",
      message: "Operation cannot be fulfilled on \(qualified(group, resource)) \"\(name)\": \(why)",
      details: Details(name: name, group: group.isEmpty ? nil : group, kind: resource))
  }

  /// 422 Invalid: `Sandbox.agents.x-k8s.io "s1" is invalid: spec.podTemplate: Required value`
  /// (several causes: `… is invalid: [a: …, b: …]`).
  public static func invalid(kind: String, group: String, name: String, causes: [Cause]) -> KubeStatus {
    let listed = causes.map { "\($0.field): \($0.message)" }
    let summary = listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
    let qualifiedKind = group.isEmpty ? kind : "\(kind).\(group)"
    return KubeStatus(
      code: 422, reason: "Invalid", message: "\(qualifiedKind) \"\(name)\" is invalid: \(summary)",
      details: Details(name: name, group: group.isEmpty ? nil : group, kind: kind, causes: causes))
  }

  /// 410 Expired (a watch's or a continue token's resourceVersion older than the compaction point).
  public static func expired(_ message: String) -> KubeStatus {
    KubeStatus(code: 410, reason: "Expired", message: message)
  }

  /// 415 for a patch type the API server does not apply to custom resources.
  public static let unsupportedPatchType = KubeStatus(
    code: 415, reason: "UnsupportedMediaType",
    message:
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    details: Details())

  static func qualified(_ group: String, _ resource: String) -> String {
    group.isEmpty ? resource : "\(resource).\(group)"
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
      if !details.causes.isEmpty {
        let causes = details.causes.map {
          "{\"reason\":\(JSONText.quoted($0.reason)),\"message\":\(JSONText.quoted($0.message)),\"field\":\(JSONText.quoted($0.field))}"
        }
        parts.append("\"causes\":[\(causes.joined(separator: ","))]")
      }
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
