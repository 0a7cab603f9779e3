import CAgentCubeCurl
import Foundation
import Synchronization

/// HTTPS requests through libcurl's multi interface, driven by one thread of its own.
///
/// Every request the process makes, for itself or on any caller's behalf, goes through this one
/// multi handle and so shares its connection cache (HTTP/1.1 keep-alive, TLS sessions): a
/// per-caller client is a cheap value holding a token, not a connection pool. No curl call runs
/// on a NIO event loop or in the Swift concurrency pool; callers wait on continuations.
public final class CurlHTTPClient: Sendable {
  /// libcurl's multi handle: `curl_multi_wakeup` from any thread, everything else on the transfer thread.
  private struct MultiHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  private let handle: MultiHandle
  private var multi: UnsafeMutableRawPointer { handle.pointer }
  private let queue = Mutex(Queue())
  private let nextID = Atomic<UInt64>(0)

  private struct Queue {
    var submitted: [Transfer] = []
    var cancelled: [UInt64] = []
    var stopping = false
  }

  /// Starts the transfer thread, which holds the client until ``shutdown()``. `maxConnections`:
  /// connections kept open for reuse.
  public init(maxConnections: Int = 64) {
    _ = Self.globalInit
    handle = MultiHandle(pointer: curl_multi_init())
    _ = agentcube_curl_multi_set_long(handle.pointer, CURLMOPT_MAXCONNECTS, maxConnections)
    let thread = Thread { [self] in self.run() }
    thread.name = "agentcube-curl"
    thread.start()
  }

  /// Ends the transfer thread; requests still running fail. The client may not be used afterwards.
  public func shutdown() {
    queue.withLock { $0.stopping = true }
    curl_multi_wakeup(multi)
  }

  /// Sends `request` with `tls` and returns the response, whatever its status.
  ///
  /// - Throws: ``HTTPTransferError`` when no response came (connect, TLS, timeout, a body over
  ///   the request's limit); `CancellationError` when the task is cancelled.
  public func send(_ request: HTTPRequest, tls: TLSCredentials) async throws -> HTTPResponse {
    let id = nextID.add(1, ordering: .relaxed).newValue
    let transfer = try Transfer(id: id, request: request, tls: tls)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        transfer.continuation = continuation
        let accepted = queue.withLock { queue -> Bool in
          guard !queue.stopping else { return false }
          queue.submitted.append(transfer)
          return true
        }
        guard accepted else {
          transfer.complete(.failure(HTTPTransferError(kind: .other, description: "the HTTP client is shut down")))
          return
        }
        curl_multi_wakeup(multi)
      }
    } onCancel: {
      queue.withLock { $0.cancelled.append(id) }
      curl_multi_wakeup(multi)
    }
  }

  // MARK: - The transfer thread

  private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

  private func run() {
    var active: [UInt64: Transfer] = [:]
    while true {
      let (submitted, cancelled, stopping) = queue.withLock { queue in
        defer {
          queue.submitted.removeAll()
          queue.cancelled.removeAll()
        }
        return (queue.submitted, queue.cancelled, queue.stopping)
      }
      for transfer in submitted {
        active[transfer.id] = transfer
        curl_multi_add_handle(multi, transfer.easy)
      }
      for id in cancelled {
        guard let transfer = active.removeValue(forKey: id) else { continue }
        curl_multi_remove_handle(multi, transfer.easy)
        transfer.complete(.failure(CancellationError()))
      }
      if stopping {
        for transfer in active.values {
          curl_multi_remove_handle(multi, transfer.easy)
          transfer.complete(.failure(HTTPTransferError(kind: .other, description: "the HTTP client is shut down")))
        }
        curl_multi_cleanup(multi)
        return
      }
      var running: Int32 = 0
      curl_multi_perform(multi, &running)
      var easy: UnsafeMutableRawPointer?
      var result = CURLE_OK
      while agentcube_curl_multi_next_done(multi, &easy, &result) == 1, let easy {
        let transfer = Unmanaged<Transfer>.fromOpaque(agentcube_curl_private(easy)).takeUnretainedValue()
        guard active.removeValue(forKey: transfer.id) != nil else { continue }
        curl_multi_remove_handle(multi, easy)
        transfer.complete(transfer.outcome(result))
      }
      var ready: Int32 = 0
      curl_multi_poll(multi, nil, 0, 1000, &ready)
    }
  }
}

/// One request's easy handle and what it received; used by the transfer thread only, once
/// submitted.
private final class Transfer: @unchecked Sendable {
  let id: UInt64
  let easy: UnsafeMutableRawPointer
  var continuation: CheckedContinuation<HTTPResponse, any Error>?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  private var body: UnsafeMutableRawBufferPointer?
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  private let maxResponseBytes: Int
  fileprivate var received: [UInt8] = []
  fileprivate var headers: [String: String] = [:]
  fileprivate var overflowed = false

  init(id: UInt64, request: HTTPRequest, tls: TLSCredentials) throws {
    self.id = id
    self.maxResponseBytes = request.maxResponseBytes
    guard let easy = curl_easy_init() else {
      throw HTTPTransferError(kind: .other, description: "libcurl could not make a request handle")
    }
    self.easy = easy
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let context = Unmanaged.passUnretained(self).toOpaque()
    var code = CURLE_OK
    func check(_ result: CURLcode) { if code == CURLE_OK { code = result } }
    check(agentcube_curl_set_string(easy, CURLOPT_URL, request.url))
    check(agentcube_curl_set_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
    check(agentcube_curl_set_string(easy, CURLOPT_PROTOCOLS_STR, "https,http"))
    check(agentcube_curl_set_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
    check(agentcube_curl_set_long(easy, CURLOPT_NOSIGNAL, 1))
    check(agentcube_curl_set_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
    let timeoutMs = max(1, Int(request.timeout.components.seconds) * 1000 + Int(request.timeout.components.attoseconds / 1_000_000_000_000_000))
    check(agentcube_curl_set_long(easy, CURLOPT_TIMEOUT_MS, timeoutMs))
    check(agentcube_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMs, 5000)))
    check(agentcube_curl_set_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
    check(agentcube_curl_set_pointer(easy, CURLOPT_PRIVATE, context))
    check(agentcube_curl_set_write_callback(easy, transferReceivedBody, context))
    check(agentcube_curl_set_header_callback(easy, transferReceivedHeader, context))
    for header in request.headers { headerList = curl_slist_append(headerList, header) }
    // No "Expect: 100-continue" round trip for bodies.
    headerList = curl_slist_append(headerList, "Expect:")
    check(agentcube_curl_set_headers(easy, headerList))
    if let bytes = request.body {
      let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
      copy.copyBytes(from: bytes)
      body = copy
      check(agentcube_curl_set_body(easy, copy.baseAddress, bytes.count))
    }
    if let ca = tls.certificateAuthority { check(Self.setBlob(easy, CURLOPT_CAINFO_BLOB, ca)) }
    if let certificate = tls.clientCertificate, let key = tls.clientKey {
      check(Self.setBlob(easy, CURLOPT_SSLCERT_BLOB, certificate))
      check(agentcube_curl_set_string(easy, CURLOPT_SSLCERTTYPE, "PEM"))
      check(Self.setBlob(easy, CURLOPT_SSLKEY_BLOB, key))
      check(agentcube_curl_set_string(easy, CURLOPT_SSLKEYTYPE, "PEM"))
    }
    if tls.insecureSkipVerify {
      check(agentcube_curl_set_long(easy, CURLOPT_SSL_VERIFYPEER, 0))
      check(agentcube_curl_set_long(easy, CURLOPT_SSL_VERIFYHOST, 0))
    }
    guard code == CURLE_OK else {
      throw HTTPTransferError(kind: .other, description: "libcurl refused an option: \(String(cString: curl_easy_strerror(code)))")
    }
  }

  deinit {
    curl_easy_cleanup(easy)
    curl_slist_free_all(headerList)
    body?.deallocate()
    errorBuffer.deallocate()
  }

  private static func setBlob(_ easy: UnsafeMutableRawPointer, _ option: CURLoption, _ bytes: [UInt8]) -> CURLcode {
    var bytes = bytes
    return bytes.withUnsafeMutableBytes { agentcube_curl_set_blob(easy, option, $0.baseAddress, $0.count) }
  }

  fileprivate func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard received.count + bytes.count <= maxResponseBytes else {
      overflowed = true
      return false
    }
    received.append(contentsOf: bytes)
    return true
  }

  func complete(_ outcome: Result<HTTPResponse, any Error>) {
    continuation?.resume(with: outcome)
    continuation = nil
  }

  func outcome(_ result: CURLcode) -> Result<HTTPResponse, any Error> {
    guard result == CURLE_OK else {
      let detail = String(cString: errorBuffer)
      let reason = detail.isEmpty ? String(cString: curl_easy_strerror(result)) : detail
      let kind: HTTPTransferError.Kind =
        switch result {
        case _ where overflowed: .responseTooLarge
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: .connect
        case CURLE_OPERATION_TIMEDOUT: .timeout
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE:
          .tls
        default: .other
        }
      let text = overflowed ? "the response is larger than \(maxResponseBytes) bytes" : reason
      return .failure(HTTPTransferError(kind: kind, description: text))
    }
    return .success(HTTPResponse(status: agentcube_curl_response_code(easy), headers: headers, body: received))
  }
}

private func transferReceivedBody(_ bytes: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
  guard let context else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  let length = size * count
  return transfer.append(UnsafeRawBufferPointer(start: bytes, count: length)) ? length : 0
}

private func transferReceivedHeader(_ bytes: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
  guard let context, let bytes else { return 0 }
  let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
  let length = size * count
  let line = String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
  if line.hasPrefix("HTTP/") {
    transfer.headers.removeAll()  // a new response (after 100 Continue): its headers only
  } else if let colon = line.firstIndex(of: ":") {
    let name = line[..<colon].lowercased()
    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    transfer.headers[name] = value
  }
  return length
}
