import AgentCubeCore
import AgentCubeTransport
import NIOCore
import Synchronization

/// Keeps one usable connection: made on first use, made again after it closes or gets GOAWAY.
/// Concurrent callers that find no connection share one connection attempt.
final class ConnectionManager: Sendable {
  private enum State {
    case idle
    case connecting(Task<ClientConnection, any Error>)
    case ready(ClientConnection)
    case closed
  }

  private let target: ConnectionTarget
  private let configuration: ClientConnection.Configuration
  private let group: any EventLoopGroup
  private let state = Mutex(State.idle)

  init(target: ConnectionTarget, configuration: ClientConnection.Configuration, group: any EventLoopGroup) {
    self.target = target
    self.configuration = configuration
    self.group = group
  }

  func connection() async throws -> ClientConnection {
    enum Action {
      case use(ClientConnection)
      case wait(Task<ClientConnection, any Error>)
    }
    let action: Action = try state.withLock { state in
      switch state {
      case .ready(let connection) where connection.isUsable:
        return .use(connection)
      case .connecting(let task):
        return .wait(task)
      case .closed:
        throw RPCError.unavailable("client is closed")
      case .idle, .ready:
        let (target, configuration, group) = (target, configuration, group)
        // One attempt, shared by every caller that arrives while it runs.
        let task = Task { try await ClientConnection.connect(to: target, configuration: configuration, group: group) }
        state = .connecting(task)
        return .wait(task)
      }
    }
    guard case .wait(let task) = action else {
      if case .use(let connection) = action { return connection }
      preconditionFailure("unreachable")
    }
    do {
      let connection = try await task.value
      state.withLock { state in
        if case .connecting = state { state = .ready(connection) }
      }
      return connection
    } catch {
      state.withLock { state in
        if case .connecting = state { state = .idle }
      }
      throw error
    }
  }

  /// A new connection of its own, not shared (a tunnel takes over its connection).
  func dedicatedConnection() async throws -> ClientConnection {
    try await ClientConnection.connect(to: target, configuration: configuration, group: group)
  }

  deinit {
    // A client dropped without close() must not leave its connection open for ever.
    if case .ready(let connection) = state.withLock({ $0 }) { connection.channel.close(promise: nil) }
  }

  func close() async {
    let current = state.withLock { state -> State in
      defer { state = .closed }
      return state
    }
    switch current {
    case .ready(let connection): await connection.close()
    case .connecting(let task): await (try? task.value)?.close()
    case .idle, .closed: break
    }
  }
}
