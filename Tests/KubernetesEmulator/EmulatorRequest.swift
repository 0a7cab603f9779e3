import Foundation
import NIOCore
import NIOHTTP1

/// A request as a route handler sees it: parsed, its body whole (bounded), its caller authenticated.
public struct EmulatorRequest: Sendable {
  public var method: HTTPMethod
  /// The path without the query, percent-encoding kept.
  public var path: String
  /// Query parameters, percent-decoded; a repeated name keeps its last value.
  public var query: [String: String]
  public var headers: HTTPHeaders
  public var body: [UInt8]
  /// `{name}` segments of the route's path pattern.
  public var pathParameters: [String: String]
  /// The caller, as the bearer token authenticated it.
  public var caller: TokenRecord

  /// The body as JSON (an object), or a 400 Status like the API server's decoder gives.
  public func jsonObject() throws -> [String: Any] {
    try JSONBody.object(body)
  }
}

/// What a handler answers.
public struct EmulatorResponse: Sendable {
  public var status: HTTPResponseStatus
  public var headers: HTTPHeaders
  public var body: [UInt8]
  /// A streamed body instead of `body`: written after the head with chunked transfer encoding, one
  /// chunk per ``ResponseStream/write(_:)``; returning ends it cleanly, throwing (e.g.
  /// ``ResponseStream/Cut``) closes the connection without the final chunk.
  public var stream: (@Sendable (ResponseStream) async throws -> Void)?

  public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  /// A streamed answer (a watch).
  public init(
    status: HTTPResponseStatus, headers: HTTPHeaders = [:], stream: @escaping @Sendable (ResponseStream) async throws -> Void
  ) {
    self.status = status
    self.headers = headers
    self.body = []
    self.stream = stream
  }

  /// A JSON body with `Content-Type: application/json`.
  public init(status: HTTPResponseStatus, json: [UInt8], headers: HTTPHeaders = [:]) {
    var headers = headers
    headers.replaceOrAdd(name: "Content-Type", value: "application/json")
    self.init(status: status, headers: headers, body: json)
  }
}

/// The body of a streamed answer, as its handler writes it.
public struct ResponseStream: Sendable {
  /// Thrown by a stream to drop the connection mid-body (no terminating chunk).
  public struct Cut: Error {
    public init() {}
  }

  let writer: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

  /// Writes `bytes` as one chunk and flushes it.
  public func write(_ bytes: [UInt8]) async throws {
    try await writer.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
  }
}

extension EmulatorRequest {
  /// Whether the query asks for a watch (`watch=true`/`1`, Go's `strconv.ParseBool`).
  public var isWatch: Bool { Self.isWatch(query) }

  static func isWatch(_ query: [String: String]) -> Bool {
    ["1", "t", "T", "true", "TRUE", "True"].contains(query["watch"] ?? "")
  }

  /// Splits a request target into path and decoded query.
  static func split(target: String) -> (path: String, query: [String: String]) {
    guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
    var query: [String: String] = [:]
    for pair in target[target.index(after: mark)...].split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = decode(parts[0])
      query[name] = parts.count > 1 ? decode(parts[1]) : ""
    }
    return (String(target[..<mark]), query)
  }

  private static func decode(_ text: Substring) -> String {
    let plus = String(text).replacing("+", with: " ")
    return plus.removingPercentEncoding ?? plus
  }

  /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, as kube's).
  static func bearerToken(in headers: HTTPHeaders) -> String? {
    guard let value = headers.first(name: "authorization") else { return nil }
    let parts = value.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
    let token = parts[1].trimmingCharacters(in: .whitespaces)
    return token.isEmpty ? nil : token
  }
}
