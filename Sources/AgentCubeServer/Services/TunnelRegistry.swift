import NIOCore
import Synchronization

/// The open tunnels of each session, so that deleting a session closes them at once rather than
/// waiting for the sandbox's sockets to die with it.
final class TunnelRegistry: Sendable {
  private let channels = Mutex<[String: [ObjectIdentifier: any Channel]]>([:])

  /// Remembers `channel` (a tunnel's sandbox side) until it closes.
  func register(_ channel: any Channel, sessionID: String) {
    let key = ObjectIdentifier(channel)
    channels.withLock { $0[sessionID, default: [:]][key] = channel }
    channel.closeFuture.whenComplete { [weak self] _ in
      self?.channels.withLock { channels in
        channels[sessionID]?[key] = nil
        if channels[sessionID]?.isEmpty == true { channels[sessionID] = nil }
      }
    }
  }

  /// Closes every tunnel of the session; the glue then closes their client connections.
  func closeAll(sessionID: String) {
    let open = channels.withLock { $0.removeValue(forKey: sessionID) } ?? [:]
    for channel in open.values { channel.close(promise: nil) }
  }
}
