import Synchronization

/// A failure the emulator can be told to produce, as a real API server or the network in front of it does.
public enum Fault: Sendable, Hashable {
  /// Waits this long before handling the request (then answers as usual, or with another fault).
  case delay(Duration)
  /// Answers with this HTTP status and a Status body (500 is `InternalError`, 503
  /// `ServiceUnavailable`, others `InternalError` too).
  case status(Int)
  /// 429 `TooManyRequests` with `Retry-After: <seconds>`, as API Priority and Fairness answers.
  case tooManyRequests(retryAfterSeconds: Int)
  /// Closes the connection without answering (a proxy or apiserver dying mid-request).
  case closeConnection
}

/// Which requests a fault applies to.
public enum FaultScope: Sendable, Hashable {
  /// Every request, whatever its route (also unmatched ones).
  case allRoutes
  /// Only requests to this route.
  case route(RouteID)
}

/// The faults set by tests, consumed by requests (thread-safe).
final class FaultInjector: Sendable {
  private struct Armed {
    var id: Int
    var fault: Fault
    var scope: FaultScope
    /// `nil`: until cleared.
    var remaining: Int?
  }

  private struct State {
    var armed: [Armed] = []
    var nextID = 0
  }

  private let state = Mutex(State())

  func inject(_ fault: Fault, scope: FaultScope, times: Int?) {
    precondition(times.map { $0 > 0 } ?? true, "a fault applies at least once")
    state.withLock { state in
      state.nextID += 1
      state.armed.append(Armed(id: state.nextID, fault: fault, scope: scope, remaining: times))
    }
  }

  func clear() {
    state.withLock { $0.armed = [] }
  }

  /// The faults for one request to `route`, in the order they were set; each use counts down.
  func take(for route: RouteID) -> [Fault] {
    state.withLock { state in
      var taken: [Fault] = []
      for index in state.armed.indices {
        let armed = state.armed[index]
        guard armed.scope == .allRoutes || armed.scope == .route(route) else { continue }
        taken.append(armed.fault)
        if let remaining = armed.remaining { state.armed[index].remaining = remaining - 1 }
      }
      state.armed.removeAll { $0.remaining == 0 }
      return taken
    }
  }
}
