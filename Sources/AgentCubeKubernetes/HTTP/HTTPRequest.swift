/// One request to an HTTPS API, as libcurl will send it.
public struct HTTPRequest: Sendable {
  public var method: String
  /// The full URL, `https://host:port/path?query`.
  public var url: String
  /// Header lines as `name: value`.
  public var headers: [String]
  public var body: [UInt8]?
  /// The whole exchange, connecting included. Default 10 s.
  public var timeout: Duration
  /// Largest response body kept; more fails the request. Default 16 MiB.
  public var maxResponseBytes: Int

  public init(
    method: String, url: String, headers: [String] = [], body: [UInt8]? = nil, timeout: Duration = .seconds(10),
    maxResponseBytes: Int = 16 << 20
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
    self.maxResponseBytes = maxResponseBytes
  }
}

/// What came back.
public struct HTTPResponse: Sendable {
  public var status: Int
  /// Header names lower-cased; a repeated header keeps its last value.
  public var headers: [String: String]
  public var body: [UInt8]
}

/// How the client proves the server is the cluster's and, optionally, who it is.
public struct TLSCredentials: Sendable, Hashable {
  /// PEM bytes of the CAs that sign the API server's certificate; `nil`: the system's roots.
  public var certificateAuthority: [UInt8]?
  /// PEM client certificate and key (client-certificate authentication).
  public var clientCertificate: [UInt8]?
  public var clientKey: [UInt8]?
  /// Skip verifying the server (kubeconfig `insecure-skip-tls-verify`; only with an explicit flag).
  public var insecureSkipVerify = false

  public init(
    certificateAuthority: [UInt8]? = nil, clientCertificate: [UInt8]? = nil, clientKey: [UInt8]? = nil,
    insecureSkipVerify: Bool = false
  ) {
    self.certificateAuthority = certificateAuthority
    self.clientCertificate = clientCertificate
    self.clientKey = clientKey
    self.insecureSkipVerify = insecureSkipVerify
  }
}

/// A transfer that did not produce a response: libcurl's reason, never a header or body.
public struct HTTPTransferError: Error, CustomStringConvertible, Sendable {
  public enum Kind: Sendable, Equatable {
    case connect, timeout, tls, responseTooLarge, other
  }

  public var kind: Kind
  public var description: String
}
