import AgentCubeCore
import Foundation

/// Typed JSON requests to one Kubernetes API server, over the process's shared ``CurlHTTPClient``.
///
/// A value: cheap to copy with another credential (a caller's token) since connections belong to
/// the shared client. Failures become ``AgentCubeCore/RPCError``s as `kubernetes-api.md` maps
/// them; idempotent requests are retried on 429 (after its `Retry-After`), 5xx and connection
/// failures, with capped exponential backoff and jitter.
public struct KubernetesAPI: Sendable {
  /// Where the API server is and how to trust it.
  public var server: String
  public var tls: TLSCredentials
  /// The bearer token sent, read for every request (a projected token rotates).
  public var token: @Sendable () throws -> String?
  /// Each attempt's limit. Default 10 s.
  public var requestTimeout: Duration = .seconds(10)
  /// Attempts of an idempotent request at most. Default 4.
  public var maxAttempts = 4
  /// The first retry's wait, doubled each time up to ``maxBackoff``. Default 100 ms.
  public var initialBackoff: Duration = .milliseconds(100)
  public var maxBackoff: Duration = .seconds(2)

  let http: CurlHTTPClient

  public init(server: String, tls: TLSCredentials, token: @escaping @Sendable () throws -> String?, http: CurlHTTPClient) {
    self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
    self.tls = tls
    self.token = token
    self.http = http
  }

  /// The API at `connection`'s server with its trust and credentials.
  public init(_ connection: KubernetesConnection, http: CurlHTTPClient) {
    self.init(server: connection.server, tls: connection.tls, token: connection.token, http: http)
  }

  /// The same server and trust, acting as another token's owner.
  public func acting(as token: String) -> Self {
    var copy = self
    copy.token = { token }
    return copy
  }

  /// Sends `body` as JSON to `path` and decodes the answer.
  ///
  /// - Throws: ``KubernetesAPIError`` (which converts itself: the Kubernetes status mapped, its
  ///   message kept) when the server answers a failure or cannot be reached past the retries; or
  ///   `UNAVAILABLE` when the server cannot be reached or answers 429/5xx past the retries.
  public func send<Body: Encodable, Answer: Decodable>(
    _ method: String, _ path: String, body: Body?, idempotent: Bool, contentType: String = "application/json",
    as: Answer.Type = Answer.self
  ) async throws -> Answer {
    let encoded = try body.map { try JSONEncoder().encode($0) }.map { Array($0) }
    var headers = try requestHeaders()
    if encoded != nil { headers.append("Content-Type: \(contentType)") }
    let request = HTTPRequest(method: method, url: server + path, headers: headers, body: encoded, timeout: requestTimeout)
    var backoff = initialBackoff
    var attempt = 1
    while true {
      var failure: KubernetesAPIError
      var wait: Duration?
      do {
        let response = try await http.send(request, tls: tls)
        if (200..<300).contains(response.status) {
          do {
            return try JSONDecoder().decode(Answer.self, from: Data(response.body))
          } catch {
            throw KubernetesAPIError(
              httpStatus: response.status, reason: nil,
              rpcError: .internal("Kubernetes API: an answer of \(path) that is not the expected JSON"))
          }
        }
        let retryAfter = response.headers["retry-after"].flatMap { Int($0) }.map { min(max($0, 0), 60) }
        failure = .answered(
          response.status, body: try? JSONDecoder().decode(KubernetesStatus.self, from: Data(response.body)),
          retryAfterSeconds: retryAfter)
        guard response.status == 429 || response.status >= 500 else { throw failure }
        wait = retryAfter.map { .seconds($0) }
      } catch let error as HTTPTransferError {
        failure = .unreachable(server, error)
      }
      guard idempotent, attempt < maxAttempts else { throw failure }
      attempt += 1
      // Full jitter within the backoff, unless the server said when.
      let jittered = Duration.nanoseconds(Int64.random(in: 0...max(1, backoff.nanosecondsClamped)))
      try await Task.sleep(for: wait ?? jittered)
      backoff = min(backoff * 2, maxBackoff)
    }
  }

  /// `Accept: application/json` and the credential, read now.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `UNAVAILABLE` when the credential cannot be read.
  func requestHeaders() throws -> [String] {
    var headers = ["Accept: application/json"]
    let credential: String?
    do {
      credential = try token()
    } catch {
      // The server's own credential is unreadable (a token file mid-rotation): the API is unusable now.
      throw RPCError.unavailable("Kubernetes API: no credential to send (\(error))")
    }
    if let credential { headers.append("Authorization: Bearer \(credential)") }
    return headers
  }
}

/// The body of a request without one.
struct NoBody: Encodable {}
