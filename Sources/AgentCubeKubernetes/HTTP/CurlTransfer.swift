import AgentCubeCore
import CAgentCubeCurl
import Foundation

/// One request's easy handle and what it received; used by the transfer thread only, once
/// submitted.
final class CurlTransfer: @unchecked Sendable {
  /// Where the response goes: collected whole, or streamed to a reader as it arrives.
  enum Delivery {
    case whole(maxBytes: Int)
    case stream(StreamChannel)
  }

  /// How long the transfer may take.
  enum Limits {
    /// The whole exchange, connecting included (connecting itself at most 5 s).
    case whole(Duration)
    /// Connecting; then any quiet period (libcurl's low-speed limit of 1 byte/s); no overall limit.
    case stream(connect: Duration, idle: Duration)
  }

  let id: UInt64
  let easy: UnsafeMutableRawPointer
  let delivery: Delivery
  var continuation: CheckedContinuation<HTTPResponse, any Error>?
  private var headerList: UnsafeMutablePointer<curl_slist>?
  private var body: UnsafeMutableRawBufferPointer?
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
  fileprivate var received: [UInt8] = []
  fileprivate var headers: [String: String] = [:]
  fileprivate var status = 0
  fileprivate var overflowed = false

  init(id: UInt64, request: HTTPRequest, tls: TLSCredentials, delivery: Delivery, limits: Limits) throws {
    self.id = id
    self.delivery = delivery
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
    switch limits {
    case .whole(let timeout):
      let timeoutMs = timeout.curlMilliseconds
      check(agentcube_curl_set_long(easy, CURLOPT_TIMEOUT_MS, timeoutMs))
      check(agentcube_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, min(timeoutMs, 5000)))
    case .stream(let connect, let idle):
      check(agentcube_curl_set_long(easy, CURLOPT_TIMEOUT_MS, 0))
      check(agentcube_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connect.curlMilliseconds))
      check(agentcube_curl_set_long(easy, CURLOPT_LOW_SPEED_LIMIT, 1))
      check(agentcube_curl_set_long(easy, CURLOPT_LOW_SPEED_TIME, (idle.curlMilliseconds + 999) / 1000))
    }
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
      throw HTTPTransferError(
        kind: .other, description: "libcurl refused an option: \(String(cString: curl_easy_strerror(code)))")
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

  /// The bytes' length when taken; 0 fails the transfer; libcurl's pause value pauses it.
  fileprivate func append(_ bytes: UnsafeRawBufferPointer) -> Int {
    switch delivery {
    case .whole(let maxBytes):
      guard received.count + bytes.count <= maxBytes else {
        overflowed = true
        return 0
      }
      received.append(contentsOf: bytes)
      return bytes.count
    case .stream(let channel):
      return channel.offer(bytes) ? bytes.count : agentcube_curl_write_pause()
    }
  }

  /// One header line, `\r\n` included.
  fileprivate func header(_ line: String) {
    if line.hasPrefix("HTTP/") {
      headers.removeAll()  // a new response (after 100 Continue): its headers only
      let parts = line.split(separator: " ", maxSplits: 2)
      status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
    } else if let colon = line.firstIndex(of: ":") {
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
      headers[name] = value
    } else if line == "\r\n" || line == "\n", status >= 200, case .stream(let channel) = delivery {
      channel.headersComplete(status: status, headers: headers)
    }
  }

  /// The transfer ended with `result`: the waiting caller or the stream's reader learns how.
  func complete(_ result: Result<Void, any Error>) {
    switch delivery {
    case .whole:
      continuation?.resume(
        with: result.map { _ in
          HTTPResponse(status: agentcube_curl_response_code(easy), headers: headers, body: received)
        })
      continuation = nil
    case .stream(let channel):
      channel.finish(result)
    }
  }

  /// libcurl's result as a transfer error (`nil`: success).
  func failure(_ result: CURLcode) -> HTTPTransferError? {
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
      if overflowed, case .whole(let maxBytes) = delivery {
        return HTTPTransferError(kind: kind, description: "the response is larger than \(maxBytes) bytes")
      }
      return HTTPTransferError(kind: kind, description: reason)
    }
    return nil
  }
}

extension Duration {
  /// Whole milliseconds for libcurl, at least 1.
  fileprivate var curlMilliseconds: Int { Int(clamping: max(1, milliseconds)) }
}

private func transferReceivedBody(
  _ bytes: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
  guard let context else { return 0 }
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
  return transfer.append(UnsafeRawBufferPointer(start: bytes, count: size * count))
}

private func transferReceivedHeader(
  _ bytes: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
  guard let context, let bytes else { return 0 }
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
  let length = size * count
  transfer.header(String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self))
  return length
}
