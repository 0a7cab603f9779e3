import NIOCore
import NIOHTTP1

/// Names a route, for counters, the request log and route-scoped faults.
public struct RouteID: Sendable, Hashable, CustomStringConvertible {
  public var name: String

  public init(_ name: String) { self.name = name }

  public var description: String { name }

  /// `POST /apis/authentication.k8s.io/v1/tokenreviews`.
  public static let tokenReviews = RouteID("tokenreviews")
  /// Requests no route serves (404 or 405 once authenticated).
  public static let unmatched = RouteID("unmatched")
}

/// The authorization attributes of a route (as kube's `ResourceAttributes`): `verb` on `resource` in
/// `group`, with the namespace and name taken from the named path parameters when the route has them.
public struct RouteAccess: Sendable, Hashable {
  public var verb: String
  public var group: String
  public var resource: String
  /// The path parameter holding the namespace; `nil` for cluster-scoped resources.
  public var namespaceParameter: String?
  /// The path parameter holding the object's name, if any.
  public var nameParameter: String?
  /// A collection `GET` that is a `watch` (verb `watch`) when the query says `watch=true`, as kube's
  /// request-info resolver decides; default false.
  public var watchable: Bool

  public init(
    verb: String, group: String, resource: String, namespaceParameter: String? = nil, nameParameter: String? = nil,
    watchable: Bool = false
  ) {
    self.verb = verb
    self.group = group
    self.resource = resource
    self.namespaceParameter = namespaceParameter
    self.nameParameter = nameParameter
    self.watchable = watchable
  }

  /// The attributes of one request to the route.
  func attributes(parameters: [String: String], query: [String: String]) -> ResourceAttributes {
    ResourceAttributes(
      verb: watchable && EmulatorRequest.isWatch(query) ? "watch" : verb, group: group, resource: resource,
      namespace: namespaceParameter.flatMap { parameters[$0] }, name: nameParameter.flatMap { parameters[$0] })
  }
}

/// One access a request asks for, with the route's parameters filled in (kube's authorization
/// attributes): recorded with every authenticated request, so tests can check them against RBAC rules.
public struct ResourceAttributes: Sendable, Hashable, CustomStringConvertible {
  public var verb: String
  /// The API group, `""` for the core group.
  public var group: String
  public var resource: String
  /// `nil`: the cluster scope (or every namespace, for a list or watch).
  public var namespace: String?
  public var name: String?

  public init(verb: String, group: String, resource: String, namespace: String? = nil, name: String? = nil) {
    self.verb = verb
    self.group = group
    self.resource = resource
    self.namespace = namespace
    self.name = name
  }

  public var description: String {
    let qualified = group.isEmpty ? resource : "\(resource).\(group)"
    return "\(verb) \(qualified)\(name.map { " \"\($0)\"" } ?? "") in \(namespace.map { "namespace \($0)" } ?? "cluster scope")"
  }
}

typealias AccessRequest = ResourceAttributes

/// A path pattern such as `/apis/agents.x-k8s.io/v1beta1/namespaces/{namespace}/sandboxes/{name}`:
/// literal segments, and `{parameter}` segments matching one non-empty segment.
public struct PathPattern: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
  enum Segment: Sendable, Hashable {
    case literal(String)
    case parameter(String)
  }

  let segments: [Segment]
  public let description: String

  public init(_ pattern: String) {
    description = pattern
    segments = pattern.split(separator: "/").map { part in
      part.hasPrefix("{") && part.hasSuffix("}")
        ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
    }
  }

  public init(stringLiteral value: String) { self.init(value) }

  /// The parameters when `path` matches, else `nil`.
  func match(_ path: String) -> [String: String]? {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
    let trimmed = parts.last == "" ? Array(parts.dropLast()) : Array(parts)
    guard trimmed.count == segments.count else { return nil }
    var parameters: [String: String] = [:]
    for (segment, part) in zip(segments, trimmed) {
      switch segment {
      case .literal(let literal): guard part == literal else { return nil }
      case .parameter(let name):
        guard !part.isEmpty else { return nil }
        parameters[name] = String(part)
      }
    }
    return parameters
  }
}

/// One served endpoint: method, path pattern, the access it needs and its handler.
public struct Route: Sendable {
  public typealias Handler = @Sendable (EmulatorRequest) async throws -> EmulatorResponse

  public var id: RouteID
  public var method: HTTPMethod
  public var path: PathPattern
  /// What the caller must be allowed; `nil` lets any authenticated caller in.
  public var access: RouteAccess?
  /// The ID a watch request (`watch=true`) on this route counts under, for counters and faults;
  /// `nil`: ``id``.
  public var watchID: RouteID?
  public var handler: Handler

  public init(
    id: RouteID, method: HTTPMethod, path: PathPattern, access: RouteAccess?, watchID: RouteID? = nil,
    handler: @escaping Handler
  ) {
    self.id = id
    self.method = method
    self.path = path
    self.access = access
    self.watchID = watchID
    self.handler = handler
  }

  /// The ID one request counts under.
  func id(for query: [String: String]) -> RouteID {
    if let watchID, EmulatorRequest.isWatch(query) { return watchID }
    return id
  }
}

/// Finds the route for a method and path.
struct Router: Sendable {
  enum Match {
    case route(Route, parameters: [String: String])
    case methodNotAllowed
    case notFound
  }

  var routes: [Route]

  func match(method: HTTPMethod, path: String) -> Match {
    var pathMatched = false
    for route in routes {
      guard let parameters = route.path.match(path) else { continue }
      if route.method == method { return .route(route, parameters: parameters) }
      pathMatched = true
    }
    return pathMatched ? .methodNotAllowed : .notFound
  }
}
