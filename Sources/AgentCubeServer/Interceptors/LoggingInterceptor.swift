import AgentCubeCore
public import Logging

/// Logs every call once it ends: call id, method, peer (address, or uid/gid/pid on the Unix socket),
/// the client certificate's subject under mutual TLS, caller identity, status and duration.
///
/// Metadata values are never logged, so tokens cannot leak through this interceptor.
public struct LoggingInterceptor: ServerInterceptor {
  private let logger: Logger

  /// Logs with `logger`: successful calls at `debug`, failures at `info`, internal errors at `warning`.
  public init(logger: Logger) { self.logger = logger }

  public func intercept(request: ServerRequest, context: ServerContext, next: Next) async throws -> ServerResponse {
    let record = CallRecord()
    var context = context
    context.callRecord = record
    let start = ContinuousClock.now
    var code = StatusCode.ok
    defer {
      let elapsed = ContinuousClock.now - start
      let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
      let level: Logger.Level = code == .ok ? .debug : code == .internal || code == .unknown ? .warning : .info
      var metadata: Logger.Metadata = [
        "rpc.call_id": "\(context.callID)", "rpc.method": "\(context.method)", "peer": "\(context.peer)",
        "identity": "\(record.identity?.username ?? "-")", "rpc.status": "\(code)", "rpc.duration_us": "\(micros)",
      ]
      if let subject = context.tlsClientSubject { metadata["tls.client_subject"] = "\(subject)" }
      logger.log(level: level, "call", metadata: metadata)
    }
    do {
      return try await next(request, context)
    } catch is CancellationError {
      code = .cancelled
      throw CancellationError()
    } catch {
      code = RPCError(converting: error)?.code ?? .internal
      throw error
    }
  }
}
