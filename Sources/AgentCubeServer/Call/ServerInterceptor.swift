public import AgentCubeCore

/// Runs around a call's handler: it may inspect or change the request and context, answer
/// itself by throwing an ``AgentCubeCore/RPCError``, or call `next`.
///
/// ```swift
/// struct RequireTenant: ServerInterceptor {
///   func intercept(request: ServerRequest, context: ServerContext, next: Next) async throws -> ServerResponse {
///     guard request.metadata["x-tenant"] != nil else { throw RPCError.invalidArgument("x-tenant missing") }
///     return try await next(request, context)
///   }
/// }
/// ```
public protocol ServerInterceptor: Sendable {
  /// The rest of the chain, ending in the handler.
  typealias Next = @Sendable (ServerRequest, ServerContext) async throws -> ServerResponse

  /// Intercepts one call.
  func intercept(request: ServerRequest, context: ServerContext, next: Next) async throws -> ServerResponse
}

/// An interceptor together with the methods it applies to; resolved once, at registration.
public struct InterceptorRule: Sendable {
  enum Scope: Sendable {
    case all
    case only(Set<MethodDescriptor>)
    case allExcept(Set<MethodDescriptor>)
  }

  let interceptor: any ServerInterceptor
  let scope: Scope

  /// Applies `interceptor` to every method.
  public static func all(_ interceptor: any ServerInterceptor) -> Self { Self(interceptor: interceptor, scope: .all) }

  /// Applies `interceptor` only to `methods`.
  public static func only(_ methods: Set<MethodDescriptor>, _ interceptor: any ServerInterceptor) -> Self {
    Self(interceptor: interceptor, scope: .only(methods))
  }

  /// Applies `interceptor` to every method but `methods`.
  public static func allExcept(_ methods: Set<MethodDescriptor>, _ interceptor: any ServerInterceptor) -> Self {
    Self(interceptor: interceptor, scope: .allExcept(methods))
  }

  func applies(to method: MethodDescriptor) -> Bool {
    switch scope {
    case .all: true
    case .only(let methods): methods.contains(method)
    case .allExcept(let methods): !methods.contains(method)
    }
  }
}
