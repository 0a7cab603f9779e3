import Synchronization

/// How a streaming request (``CurlHTTPClient/stream(_:tls:options:)``) is bounded.
///
/// A stream such as a Kubernetes watch lasts as long as the server keeps it open, so it has no
/// whole-transfer timeout: it fails when connecting (TLS handshake included) takes longer than
/// ``connectTimeout``, or when it goes quiet — fewer than one byte a second for ``idleTimeout``
/// (libcurl's low-speed limit; a transfer paused because its reader is behind is not idle).
public struct HTTPStreamOptions: Sendable, Hashable {
  /// Connecting and the TLS handshake. Default 5 s.
  public var connectTimeout: Duration
  /// The longest quiet period, response headers included; rounded up to whole seconds. Default 60 s.
  public var idleTimeout: Duration
  /// Body bytes received but not yet read at most; beyond, libcurl pauses the transfer (no more is
  /// read from the socket) until the reader has caught up by half. Default 1 MiB. One chunk is always
  /// accepted, so a chunk larger than this (libcurl's are at most 16 KiB) does not stall.
  public var bufferLimit: Int

  public init(connectTimeout: Duration = .seconds(5), idleTimeout: Duration = .seconds(60), bufferLimit: Int = 1 << 20)
  {
    self.connectTimeout = connectTimeout
    self.idleTimeout = idleTimeout
    self.bufferLimit = bufferLimit
  }

  public static var defaults: HTTPStreamOptions { HTTPStreamOptions() }
}

/// A response whose body arrives while it is read: the status and headers, then the body's chunks
/// as libcurl receives them (an `AsyncSequence` of byte arrays).
///
/// The sequence ends when the server ends the body and throws ``HTTPTransferError`` when the
/// transfer fails (cut, idle timeout). Cancelling the reading task, ``cancel()``, or dropping the
/// response aborts the transfer (its connection is closed, not reused).
///
/// ```swift
/// let response = try await http.stream(request, tls: tls)
/// for try await chunk in response { lines.append(chunk) }
/// ```
public final class HTTPStreamResponse: AsyncSequence, Sendable {
  public typealias Element = [UInt8]

  public let status: Int
  /// Header names lower-cased; a repeated header keeps its last value.
  public let headers: [String: String]
  let channel: StreamChannel

  init(status: Int, headers: [String: String], channel: StreamChannel) {
    self.status = status
    self.headers = headers
    self.channel = channel
  }

  deinit { channel.cancel() }

  /// Aborts the transfer; reading then throws `CancellationError`.
  public func cancel() { channel.cancel() }

  /// The rest of the body, at most `limit` bytes (an error answer's `Status`, say); `nil` when it is
  /// longer or the transfer fails.
  public func collect(upTo limit: Int) async -> [UInt8]? {
    var body: [UInt8] = []
    do {
      for try await chunk in self {
        guard body.count + chunk.count <= limit else { return nil }
        body.append(contentsOf: chunk)
      }
    } catch {
      return nil
    }
    return body
  }

  public struct AsyncIterator: AsyncIteratorProtocol {
    let response: HTTPStreamResponse

    /// The next chunk; `nil` at the body's end.
    public mutating func next() async throws -> [UInt8]? { try await response.channel.next() }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(response: self) }
}

/// What passes between the transfer thread (headers, chunks, the end) and the reader of one
/// streaming transfer: a bounded buffer whose fullness pauses the transfer.
final class StreamChannel: Sendable {
  typealias Head = (status: Int, headers: [String: String])

  private struct State {
    var head: CheckedContinuation<Head, any Error>?
    var headDelivered = false
    var chunks: [[UInt8]] = []
    /// Index of the first unread chunk in `chunks` (compacted as it advances).
    var first = 0
    var buffered = 0
    var paused = false
    var end: Result<Void, any Error>?
    var reader: CheckedContinuation<[UInt8]?, any Error>?
  }

  private let state = Mutex(State())
  private let limit: Int
  /// Asks the transfer thread to abort the transfer.
  private let abort: @Sendable () -> Void
  /// Asks the transfer thread to unpause the transfer.
  private let unpause: @Sendable () -> Void

  init(limit: Int, abort: @escaping @Sendable () -> Void, unpause: @escaping @Sendable () -> Void) {
    self.limit = max(1, limit)
    self.abort = abort
    self.unpause = unpause
  }

  // MARK: The reader's side

  /// Waits for the response head; called once, before the transfer is submitted.
  func waitForHead(submit: () -> Void) async throws -> Head {
    try await withCheckedThrowingContinuation { continuation in
      state.withLock { $0.head = continuation }
      submit()
    }
  }

  func next() async throws -> [UInt8]? {
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let (ready, resume) = state.withLock { state -> (Result<[UInt8]?, any Error>?, Bool) in
          if state.first < state.chunks.count {
            let chunk = state.chunks[state.first]
            state.first += 1
            state.buffered -= chunk.count
            if state.first == state.chunks.count {
              state.chunks.removeAll(keepingCapacity: true)
              state.first = 0
            } else if state.first >= 64 {
              state.chunks.removeFirst(state.first)
              state.first = 0
            }
            let resume = state.paused && state.buffered <= limit / 2
            if resume { state.paused = false }
            return (.success(chunk), resume)
          }
          if let end = state.end { return (end.map { _ -> [UInt8]? in nil }, false) }
          state.reader = continuation
          return (nil, false)
        }
        if resume { unpause() }
        if let ready { continuation.resume(with: ready) }
      }
    } onCancel: {
      cancel()
    }
  }

  /// Fails the reader with `CancellationError` now and has the transfer aborted (unless it has ended).
  func cancel() {
    let (running, waiting) = state.withLock { state -> (Bool, CheckedContinuation<[UInt8]?, any Error>?) in
      guard state.end == nil else { return (false, nil) }
      state.end = .failure(CancellationError())
      state.chunks = []
      state.first = 0
      state.buffered = 0
      defer { state.reader = nil }
      return (true, state.reader)
    }
    waiting?.resume(throwing: CancellationError())
    if running { abort() }
  }

  // MARK: The transfer thread's side

  func headersComplete(status: Int, headers: [String: String]) {
    let head = state.withLock { state -> CheckedContinuation<Head, any Error>? in
      guard !state.headDelivered else { return nil }
      state.headDelivered = true
      defer { state.head = nil }
      return state.head
    }
    head?.resume(returning: (status, headers))
  }

  /// Takes `bytes` unless the buffer is full: then `false`, the transfer is to pause and offer the
  /// same bytes again once resumed.
  func offer(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let (accepted, reader) = state.withLock { state -> (Bool, CheckedContinuation<[UInt8]?, any Error>?) in
      guard state.end == nil else { return (true, nil) }  // cancelled: drop what still arrives
      if let reader = state.reader {
        state.reader = nil
        return (true, reader)
      }
      guard state.buffered == 0 || state.buffered + bytes.count <= limit else {
        state.paused = true
        return (false, nil)
      }
      state.chunks.append(Array(bytes))
      state.buffered += bytes.count
      return (true, nil)
    }
    reader?.resume(returning: Array(bytes))
    return accepted
  }

  /// The transfer ended: cleanly (`.success`) or not. Before the head, the waiter gets the failure.
  func finish(_ outcome: Result<Void, any Error>) {
    let (head, reader) = state.withLock {
      state -> (CheckedContinuation<Head, any Error>?, CheckedContinuation<[UInt8]?, any Error>?) in
      let head = state.headDelivered ? nil : state.head
      state.headDelivered = true
      state.head = nil
      if state.end == nil { state.end = outcome }
      let reader = state.reader
      state.reader = nil
      return (head, reader)
    }
    if let head {
      switch outcome {
      case .failure(let error): head.resume(throwing: error)
      case .success:
        head.resume(throwing: HTTPTransferError(kind: .other, description: "the response ended before its headers"))
      }
    }
    reader?.resume(with: outcome.map { _ -> [UInt8]? in nil })
  }
}
