import AgentCubeCore
import AgentCubeKubernetes
import Synchronization

/// The API as each caller: a client per `namespace:serviceaccount`, acting with the caller's own
/// token, so that Kubernetes RBAC decides what the caller may do.
///
/// Cheap: every client shares the one libcurl connection pool, so an entry is a value holding a
/// token. The newest token of an account replaces the one kept (projected tokens rotate); an
/// entry is dropped when its token's JWT `exp` passes (looked at on use); at most `capacity`
/// accounts are kept, the least recently used going first.
final class CallerClients: Sendable {
  private struct Entry {
    var token: String
    var api: KubernetesAPI
    /// Unix seconds of the token's `exp`; `nil` when it is not a JWT.
    var expires: Double?
  }

  private let base: KubernetesAPI
  private let clock: WallClock
  private let entries: Mutex<LRUCache<String, Entry>>

  init(base: KubernetesAPI, capacity: Int, clock: WallClock) {
    self.base = base
    self.clock = clock
    self.entries = Mutex(LRUCache(capacity: max(1, capacity)))
  }

  /// The API acting as `caller`.
  func api(for caller: Caller) -> KubernetesAPI {
    let key = "\(caller.identity.namespace):\(caller.identity.serviceAccount)"
    let token = caller.token.secret
    let now = Double(clock.now()) / 1000
    return entries.withLock { entries in
      if let entry = entries.value(forKey: key), entry.token == token, entry.expires.map({ $0 > now }) ?? true {
        return entry.api
      }
      let entry = Entry(token: token, api: base.acting(as: token), expires: JWTExpiry.of(token))
      _ = entries.set(entry, forKey: key)
      return entry.api
    }
  }

  /// Accounts kept now.
  var count: Int { entries.withLock { $0.count } }
}
