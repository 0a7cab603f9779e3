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

  public init(
    verb: String, group: String, resource: String, namespaceParameter: String? = nil, nameParameter: String? = nil
  ) {
    self.verb = verb
    self.group = group
    self.resource = resource
    self.namespaceParameter = namespaceParameter
    self.nameParameter = nameParameter
  }
}

/// One access a request asks for, with the route's parameters filled in.
struct AccessRequest: Sendable, Hashable {
  var verb: String
  var group: String
  var resource: String
  var namespace: String?
  var name: String?
}

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
  public var handler: Handler

  public init(id: RouteID, method: HTTPMethod, path: PathPattern, access: RouteAccess?, handler: @escaping Handler) {
    self.id = id
    self.method = method
    self.path = path
    self.access = access
    self.handler = handler
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
