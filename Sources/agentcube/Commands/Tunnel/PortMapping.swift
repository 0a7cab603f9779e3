import ArgumentParser

/// `[LOCAL:]REMOTE` of `port-forward`: the local port (0: any free one) and the sandbox port.
struct PortMapping: ExpressibleByArgument {
  /// The local port to listen on; 0 picks a free one.
  let local: Int
  /// The sandbox port.
  let remote: UInt32

  /// Parses `REMOTE`, `:REMOTE` or `LOCAL:REMOTE`; `nil` for anything else.
  init?(argument: String) {
    let parts = argument.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    guard let remote = parts.last.flatMap({ UInt32($0) }), (1...65535).contains(remote) else { return nil }
    var local = 0
    if parts.count == 2, !parts[0].isEmpty {
      guard let port = Int(parts[0]), (0...65535).contains(port) else { return nil }
      local = port
    }
    self.local = local
    self.remote = remote
  }
}
