/// Where a client connects: a Unix socket, or a TCP host and port, plain or with TLS.
public struct ConnectionTarget: Hashable, Sendable, CustomStringConvertible {
  enum Kind: Hashable, Sendable {
    case unixSocket(path: String)
    case tcp(host: String, port: Int)
    case tls(host: String, port: Int)
  }

  let kind: Kind

  /// A Unix socket at `path`.
  public static func unixSocket(path: String) -> Self { Self(kind: .unixSocket(path: path)) }
  /// A TCP `host` and `port`.
  public static func tcp(host: String, port: Int) -> Self { Self(kind: .tcp(host: host, port: port)) }
  /// A TCP `host` and `port` with TLS; the server's certificate must name `host`.
  public static func tls(host: String, port: Int) -> Self { Self(kind: .tls(host: host, port: port)) }

  /// Parses `unix:<path>`, `unix://<path>`, `tls://<host>:<port>`, `<host>:<port>` or a path
  /// starting with `/` or `.`.
  public init?(parsing string: String) {
    if string.hasPrefix("tls://") {
      guard case .tcp(let host, let port)? = Self(parsing: String(string.dropFirst("tls://".count)))?.kind else { return nil }
      kind = .tls(host: host, port: port)
    } else if string.hasPrefix("unix:") {
      let path = string.hasPrefix("unix://") ? string.dropFirst("unix://".count) : string.dropFirst("unix:".count)
      guard !path.isEmpty else { return nil }
      kind = .unixSocket(path: String(path))
    } else if string.hasPrefix("/") || string.hasPrefix(".") {
      kind = .unixSocket(path: string)
    } else if let colon = string.lastIndex(of: ":"), let port = Int(string[string.index(after: colon)...]),
      (1...65535).contains(port)
    {
      var host = String(string[..<colon])
      if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
      guard !host.isEmpty else { return nil }
      kind = .tcp(host: host, port: port)
    } else {
      return nil
    }
  }

  private init(kind: Kind) { self.kind = kind }

  public var description: String {
    switch kind {
    case .unixSocket(let path): "unix:\(path)"
    case .tcp(let host, let port): Self.hostPort(host, port)
    case .tls(let host, let port): "tls://" + Self.hostPort(host, port)
    }
  }

  private static func hostPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }
}
