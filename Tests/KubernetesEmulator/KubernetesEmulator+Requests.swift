import NIOCore
import NIOHTTP1
import NIOSSL

extension KubernetesEmulator {
  /// What one request gets.
  enum Outcome: Sendable {
    case answer(EmulatorResponse)
    /// Close the connection without answering.
    case drop
  }

  /// Serves one connection's requests one after another (HTTP/1.1 keep-alive) until the client or a
  /// fault closes it.
  func serve(_ connection: Connection) async {
    let limit = configuration.maxBodyBytes
    let channel = connection.channel
    try? await connection.executeThenClose { inbound, outbound in
      // Read at the first request: by then the TLS handshake is complete.
      var certificateUser: TokenRecord?
      var certificateRead = false
      var head: HTTPRequestHead?
      var body: [UInt8] = []
      var tooLarge = false
      for try await part in inbound {
        switch part {
        case .head(let received):
          if !certificateRead {
            certificateUser = await certificateCaller(of: channel)
            certificateRead = true
          }
          head = received
          body = []
          let declared = received.headers.first(name: "content-length").flatMap(Int.init) ?? 0
          tooLarge = declared > limit
          let expectsContinue = received.headers.first(name: "expect")?.lowercased() == "100-continue"
          if tooLarge && expectsContinue {
            // The client waits for our word before sending the body: refuse it now.
            try await write(oversizedResponse(received), for: received, to: outbound, keepAlive: false)
            return
          }
          if expectsContinue {
            try await outbound.write(.head(HTTPResponseHead(version: received.version, status: .continue)))
          }
        case .body(let chunk):
          guard !tooLarge else { continue }
          if body.count + chunk.readableBytes > limit {
            tooLarge = true
            body = []
          } else {
            body.append(contentsOf: chunk.readableBytesView)
          }
        case .end:
          guard let request = head else { return }
          head = nil
          let outcome =
            tooLarge
            ? .answer(oversizedResponse(request)) : await handle(request, body: body, certificateUser: certificateUser)
          guard case .answer(let response) = outcome else { return }
          let keepAlive = request.isKeepAlive && !tooLarge
          if let stream = response.stream {
            guard try await writeStream(response, stream, for: request, to: outbound, keepAlive: keepAlive) else {
              return
            }
          } else {
            try await write(response, for: request, to: outbound, keepAlive: keepAlive)
          }
          if !keepAlive { return }
        }
      }
    }
  }

  private func oversizedResponse(_ request: HTTPRequestHead) -> EmulatorResponse {
    let path = EmulatorRequest.split(target: request.uri).path
    let response = KubeStatus.requestEntityTooLarge.response
    recorder.record(RequestRecord(method: request.method.rawValue, path: path, route: route(of: request), status: 413))
    return response
  }

  private func write(
    _ response: EmulatorResponse, for request: HTTPRequestHead,
    to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>, keepAlive: Bool
  ) async throws {
    var headers = response.headers
    headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
    if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
    let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
    try await outbound.write(contentsOf: [
      .head(head), .body(.byteBuffer(ByteBuffer(bytes: response.body))), .end(nil),
    ])
  }

  /// Writes a streamed answer: the head (chunked), the stream's chunks, the final chunk. `false` when
  /// the stream was cut or the client went away (the connection is to be closed).
  private func writeStream(
    _ response: EmulatorResponse, _ stream: @Sendable (ResponseStream) async throws -> Void,
    for request: HTTPRequestHead, to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
    keepAlive: Bool
  ) async throws -> Bool {
    var headers = response.headers
    headers.remove(name: "Content-Length")
    headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
    if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
    do {
      try await stream(ResponseStream(writer: outbound))
    } catch {
      return false
    }
    try await outbound.write(.end(nil))
    return true
  }

  private func route(of request: HTTPRequestHead) -> RouteID {
    let (path, query) = EmulatorRequest.split(target: request.uri)
    if case .route(let route, _) = router.match(method: request.method, path: path) { return route.id(for: query) }
    return .unmatched
  }

  /// Faults, then authentication, routing, authorization and the route's handler — kube's order
  /// (an unauthenticated request gets 401 even on a path nothing serves).
  func handle(_ head: HTTPRequestHead, body: [UInt8], certificateUser: TokenRecord? = nil) async -> Outcome {
    let (path, query) = EmulatorRequest.split(target: head.uri)
    let match = router.match(method: head.method, path: path)
    let routeID: RouteID
    if case .route(let route, _) = match { routeID = route.id(for: query) } else { routeID = .unmatched }
    var record = RequestRecord(method: head.method.rawValue, path: path, route: routeID, status: nil)
    let outcome = await answer(
      head, path: path, query: query, body: body, match: match, routeID: routeID, certificateUser: certificateUser,
      record: &record)
    if case .answer(let response) = outcome { record.status = Int(response.status.code) }
    recorder.record(record)
    return outcome
  }

  private func answer(
    _ head: HTTPRequestHead, path: String, query: [String: String], body: [UInt8], match: Router.Match,
    routeID: RouteID, certificateUser: TokenRecord?, record: inout RequestRecord
  ) async -> Outcome {
    for fault in faults.take(for: routeID) {
      switch fault {
      case .delay(let duration):
        do { try await Task.sleep(for: duration) } catch { return .drop }
      case .status(let code):
        return .answer(Self.injectedStatus(code).response)
      case .tooManyRequests(let seconds):
        var response = KubeStatus.tooManyRequests.response
        response.headers.replaceOrAdd(name: "Retry-After", value: String(seconds))
        return .answer(response)
      case .closeConnection:
        return .drop
      }
    }
    let caller: TokenRecord
    if let certificateUser {
      caller = certificateUser
    } else if let token = EmulatorRequest.bearerToken(in: head.headers), case .valid(let found) = tokens.lookup(token) {
      caller = found
    } else {
      return .answer(KubeStatus.unauthorized.response)
    }
    record.user = caller.user.username
    let route: Route
    let parameters: [String: String]
    switch match {
    case .notFound: return .answer(KubeStatus.pathNotFound.response)
    case .methodNotAllowed: return .answer(KubeStatus.methodNotAllowed.response)
    case .route(let matched, let matchedParameters):
      route = matched
      parameters = matchedParameters
    }
    if let access = route.access {
      let requested = access.attributes(parameters: parameters, query: query)
      record.attributes = requested
      guard caller.permissions.contains(where: { $0.allows(requested) }) else {
        return .answer(
          KubeStatus.forbidden(
            user: caller.user.username, verb: requested.verb, group: requested.group, resource: requested.resource,
            namespace: requested.namespace, name: requested.name
          ).response)
      }
    }
    let request = EmulatorRequest(
      method: head.method, path: path, query: query, headers: head.headers, body: body, pathParameters: parameters,
      caller: caller)
    do {
      return .answer(try await route.handler(request))
    } catch let status as KubeStatus {
      return .answer(status.response)
    } catch {
      return .answer(KubeStatus.internalError("Internal error occurred: \(type(of: error))").response)
    }
  }

  /// The user of the connection's verified client certificate, as a caller without a token;
  /// `nil` without client-certificate authentication or a certificate.
  private func certificateCaller(of channel: any Channel) async -> TokenRecord? {
    guard let authentication = configuration.clientCertificates,
      let certificate = try? await channel.nioSSL_peerCertificate().get(),
      let der = try? certificate.toDERBytes(), let subject = CertificateSubject(der: der)
    else { return nil }
    let user = EmulatedUser(
      username: subject.commonName, uid: "", groups: subject.organizations + ["system:authenticated"])
    return TokenRecord(token: "", user: user, permissions: authentication.permissions[subject.commonName] ?? [])
  }

  static func injectedStatus(_ code: Int) -> KubeStatus {
    let reason =
      switch code {
      case 503: "ServiceUnavailable"
      case 504: "Timeout"
      case 409: "Conflict"
      case 404: "NotFound"
      default: "InternalError"
      }
    let message = code == 500 ? "Internal error occurred: injected fault" : "injected fault: HTTP \(code)"
    return KubeStatus(code: code, reason: reason, message: message, details: Details())
  }
}

private typealias Details = KubeStatus.Details
