import Glibc
public import NIOCore

/// Who is at the other end of a Unix-socket connection, as the kernel says (`SO_PEERCRED`: the
/// process that connected, its uid and gid when it connected).
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
  public var pid: Int32
  public var uid: UInt32
  public var gid: UInt32

  public init(pid: Int32, uid: UInt32, gid: UInt32) {
    self.pid = pid
    self.uid = uid
    self.gid = gid
  }

  public var description: String { "uid \(uid), gid \(gid), pid \(pid)" }
}

/// What the transport knows of a connection's peer: how logs name it, what connection limits count
/// it under (its uid on a Unix socket, its IP address on TCP), and its credentials where there are some.
struct PeerIdentity: Sendable {
  var description: String
  var limitKey: String
  var credentials: PeerCredentials?

  /// Finds out on the channel's event loop.
  static func of(_ channel: any Channel) -> EventLoopFuture<PeerIdentity> {
    guard let address = channel.remoteAddress, case .unixDomainSocket = address else {
      let ip = channel.remoteAddress?.ipAddress ?? "unknown"
      return channel.eventLoop.makeSucceededFuture(
        PeerIdentity(description: channel.remoteAddress.map { "\($0)" } ?? "unknown", limitKey: "ip \(ip)"))
    }
    guard let provider = channel as? any SocketOptionProvider else {
      return channel.eventLoop.makeSucceededFuture(PeerIdentity(description: "unix", limitKey: "unix"))
    }
    let future: EventLoopFuture<KernelPeerCredentials> = provider.unsafeGetSocketOption(
      level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
    return future.map { credential in
      let credentials = PeerCredentials(pid: credential.pid, uid: credential.uid, gid: credential.gid)
      return PeerIdentity(description: "unix(\(credentials))", limitKey: "uid \(credentials.uid)", credentials: credentials)
    }.recover { _ in PeerIdentity(description: "unix", limitKey: "unix") }
  }
}

/// `struct ucred` of `<sys/socket.h>` (pid_t, uid_t, gid_t), which Glibc's module leaves out
/// without _GNU_SOURCE: the same three 32-bit fields in the same order.
struct KernelPeerCredentials: Sendable {
  var pid: Int32 = 0
  var uid: UInt32 = 0
  var gid: UInt32 = 0
}
