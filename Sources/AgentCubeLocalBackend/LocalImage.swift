/// What a local sandbox runs: the built-in OpenSSH image, or a program of the operator's own.
///
/// An image is a local profile, not a container image: a command, its environment, the port it
/// serves on the sandbox's own loopback (`127.0.0.1` of its private network), how to tell that it
/// serves, and its ``SandboxLimits``. Every sandbox runs under runc with the host's `/usr` and `/etc`
/// read-only and its workspace at `/workspace`. It gets these environment variables, and `${NAME}`
/// in a command's arguments is replaced by them:
///
/// | variable | value |
/// |---|---|
/// | `AGENTCUBE_SESSION_ID` | the session id |
/// | `AGENTCUBE_SESSION_NAME` | `sandbox-<first 8 of id>` |
/// | `AGENTCUBE_ADDRESS` | `127.0.0.1`: where to listen, inside the sandbox's own network |
/// | `AGENTCUBE_PORT` | the image's port |
/// | `AGENTCUBE_WORKSPACE` | `/workspace` (also `HOME` and the working directory) |
/// | `SSH_PUBLIC_KEY` | the session's SSH public key, when one was given |
///
/// ```swift
/// let echo = LocalImage.command(
///   ["/usr/bin/python3", "-m", "http.server", "--bind", "${AGENTCUBE_ADDRESS}", "${AGENTCUBE_PORT}"],
///   port: 8000, readiness: .tcp)
/// ```
public struct LocalImage: Sendable, Hashable, CustomStringConvertible {
  enum Kind: Sendable, Hashable {
    case openSSH
    case command(arguments: [String], environment: [String: String])
  }

  let kind: Kind
  /// The port the sandbox serves on its address; sessions report it as their SSH port.
  public var port: UInt16
  /// How the backend decides that a new sandbox serves.
  public var readiness: Readiness
  /// What each sandbox of this image may use. Default ``SandboxLimits/defaults``.
  public var limits: SandboxLimits = .defaults

  /// This image with other limits.
  public func with(limits: SandboxLimits) -> LocalImage {
    var image = self
    image.limits = limits
    return image
  }

  /// The name under which ``openSSH`` is always configured, and the image the service picks by default.
  public static let defaultName = "default"

  /// The built-in image: OpenSSH `sshd` on port 22 of the session's address.
  ///
  /// sshd gets a fresh ed25519 host key per session (reported as the session's host key), the
  /// session's public key as the only authorized key, password and keyboard-interactive
  /// authentication off, forwarding off, and SFTP. It runs as the sandbox's root: root of the
  /// sandbox's own user namespace, an unprivileged host uid, with privilege separation working.
  public static var openSSH: LocalImage { LocalImage(kind: .openSSH, port: 22, readiness: .sshBanner) }

  /// A program of your own, started in the sandbox with `arguments` (argv; `arguments[0]` is
  /// looked up in `PATH`) and `environment` added to the variables above.
  ///
  /// It runs as the sandbox's root (an unprivileged host uid) and listens on `127.0.0.1:port`
  /// (`${AGENTCUBE_ADDRESS}`) of the sandbox's private network.
  public static func command(
    _ arguments: [String], environment: [String: String] = [:], port: UInt16, readiness: Readiness = .tcp
  ) -> LocalImage {
    LocalImage(kind: .command(arguments: arguments, environment: environment), port: port, readiness: readiness)
  }

  public var description: String {
    switch kind {
    case .openSSH: "openssh(port: \(port), limits: \(limits))"
    case .command(let arguments, _): "command(\(arguments.first ?? ""), port: \(port), readiness: \(readiness))"
    }
  }

  /// How the backend decides that a sandbox serves; it polls its address and port until then.
  public struct Readiness: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
      case tcp
      case sshBanner
    }

    let kind: Kind

    /// A TCP connection is accepted.
    public static let tcp = Readiness(kind: .tcp)
    /// A TCP connection is accepted and the server sends its SSH identification (`SSH-2.0-...`).
    public static let sshBanner = Readiness(kind: .sshBanner)

    public var description: String {
      switch kind {
      case .tcp: "tcp"
      case .sshBanner: "ssh-banner"
      }
    }
  }
}
