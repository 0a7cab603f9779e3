public import AgentCubeCore
import Synchronization

/// Facts learnt while a call runs that an outer interceptor reports after it (e.g. who called).
public final class CallRecord: Sendable {
  private let identityStorage = Mutex<Identity?>(nil)

  public init() {}

  /// The caller's identity once authenticated.
  public var identity: Identity? {
    get { identityStorage.withLock { $0 } }
    set { identityStorage.withLock { $0 = newValue } }
  }
}
