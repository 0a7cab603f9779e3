/// How the server reaches a port of a sandbox: the far end of a tunnel.
///
/// A backend decides it (``SessionBackend/connect(sessionID:port:timeout:)``): the local backend's
/// sandboxes have private networks the host cannot route to, so it hands over a socket it
/// connected from inside; a backend whose sandboxes have routable addresses (pod IPs) names one.
public enum SandboxConnection: Sendable {
  /// Connect to `host:port`.
  case address(host: String, port: Int)
  /// A connected, non-blocking stream socket that the caller now owns (and must close).
  /// `description` names the far end for logs and the tunnel's `target`, e.g. `sandbox-1a2b3c4d:22`.
  case connectedSocket(descriptor: Int32, description: String)
}
