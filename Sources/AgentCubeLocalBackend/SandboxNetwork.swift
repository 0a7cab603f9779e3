/// What network a sandbox has besides its own loopback.
///
/// ```swift
/// configuration.network = .egress   // outbound connections through user-mode NAT
/// ```
public struct SandboxNetwork: Sendable, Hashable, CustomStringConvertible {
  enum Kind: Sendable, Hashable {
    case none
    case egress
  }

  let kind: Kind

  /// Loopback only: the sandbox reaches nothing outside itself (the default).
  public static let none = SandboxNetwork(kind: .none)

  /// Loopback plus outbound connections through slirp4netns (user-mode NAT in a process of its own,
  /// with `--disable-host-loopback`, so the host's `127.0.0.1` services stay out of reach). Nothing
  /// can connect in: the server still reaches the sandbox's ports from inside its network.
  public static let egress = SandboxNetwork(kind: .egress)

  /// `none` or `egress`, as `--sandbox-network` takes it.
  public init?(_ name: String) {
    switch name {
    case "none": self = .none
    case "egress": self = .egress
    default: return nil
    }
  }

  private init(kind: Kind) { self.kind = kind }

  public var description: String { kind == .none ? "none" : "egress" }
}
