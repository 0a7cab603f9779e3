import CAgentCubeCurl
import Foundation
import Synchronization

/// HTTPS requests through libcurl's multi interface, driven by one thread of its own.
///
/// Every request the process makes, for itself or on any caller's behalf, goes through this one
/// multi handle and so shares its connection cache (HTTP/1.1 keep-alive, TLS sessions): a
/// per-caller client is a cheap value holding a token, not a connection pool. No curl call runs
/// on a NIO event loop or in the Swift concurrency pool; callers wait on continuations.
public final class CurlHTTPClient: Sendable {
  /// libcurl's multi handle: `curl_multi_wakeup` from any thread, everything else on the transfer thread.
  private struct MultiHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
  }

  private let handle: MultiHandle
  private var multi: UnsafeMutableRawPointer { handle.pointer }
  private let queue = Mutex(Queue())
  private let nextID = Atomic<UInt64>(0)

  private struct Queue {
    var submitted: [CurlTransfer] = []
    /// Cancels of transfers not running (finished, or not yet submitted) are dropped: a submitter
    /// checks for cancellation after submitting.
    var cancelled: [UInt64] = []
    var resumed: [UInt64] = []
    var stopping = false
  }

  /// Starts the transfer thread, which holds the client until ``shutdown()``. `maxConnections`:
  /// connections kept open for reuse.
  public init(maxConnections: Int = 64) {
    _ = Self.globalInit
    handle = MultiHandle(pointer: curl_multi_init())
    _ = agentcube_curl_multi_set_long(handle.pointer, CURLMOPT_MAXCONNECTS, maxConnections)
    let thread = Thread { [self] in self.run() }
    thread.name = "agentcube-curl"
    thread.start()
  }

  /// Ends the transfer thread; requests still running fail. The client may not be used afterwards.
  public func shutdown() {
    queue.withLock { $0.stopping = true }
    curl_multi_wakeup(multi)
  }

  /// Sends `request` with `tls` and returns the response, whatever its status.
  ///
  /// - Throws: ``HTTPTransferError`` when no response came (connect, TLS, timeout, a body over
  ///   the request's limit); `CancellationError` when the task is cancelled.
  public func send(_ request: HTTPRequest, tls: TLSCredentials) async throws -> HTTPResponse {
    let id = nextID.add(1, ordering: .relaxed).newValue
    let transfer = try CurlTransfer(
      id: id, request: request, tls: tls, delivery: .whole(maxBytes: request.maxResponseBytes),
      limits: .whole(request.timeout))
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        transfer.continuation = continuation
        submit(transfer)
        // A cancel that came before the submission found nothing to cancel.
        if Task.isCancelled { cancelTransfer(id) }
      }
    } onCancel: {
      cancelTransfer(id)
    }
  }

  /// Sends `request` with `tls` and returns once the response's headers are in; its body then
  /// arrives as it is read (a Kubernetes watch, say), through a buffer bounded by
  /// `options.bufferLimit` (a full buffer pauses the transfer).
  ///
  /// `request.timeout` and `request.maxResponseBytes` do not apply: a stream is bounded by
  /// `options` — a connect timeout and an idle timeout, no limit on its length.
  ///
  /// - Throws: ``HTTPTransferError`` when no response head came (connect, TLS, idle timeout);
  ///   `CancellationError` when the task is cancelled.
  public func stream(
    _ request: HTTPRequest, tls: TLSCredentials, options: HTTPStreamOptions = .defaults
  ) async throws -> HTTPStreamResponse {
    let id = nextID.add(1, ordering: .relaxed).newValue
    let channel = StreamChannel(
      limit: options.bufferLimit, abort: { [self] in cancelTransfer(id) }, unpause: { [self] in resumeTransfer(id) })
    let transfer = try CurlTransfer(
      id: id, request: request, tls: tls, delivery: .stream(channel),
      limits: .stream(connect: options.connectTimeout, idle: options.idleTimeout))
    let head = try await withTaskCancellationHandler {
      try await channel.waitForHead {
        submit(transfer)
        if Task.isCancelled { cancelTransfer(id) }
      }
    } onCancel: {
      channel.cancel()
    }
    return HTTPStreamResponse(status: head.status, headers: head.headers, channel: channel)
  }

  private func submit(_ transfer: CurlTransfer) {
    let accepted = queue.withLock { queue -> Bool in
      guard !queue.stopping else { return false }
      queue.submitted.append(transfer)
      return true
    }
    guard accepted else {
      transfer.complete(.failure(HTTPTransferError(kind: .other, description: "the HTTP client is shut down")))
      return
    }
    curl_multi_wakeup(multi)
  }

  private func cancelTransfer(_ id: UInt64) {
    queue.withLock { $0.cancelled.append(id) }
    curl_multi_wakeup(multi)
  }

  private func resumeTransfer(_ id: UInt64) {
    queue.withLock { $0.resumed.append(id) }
    curl_multi_wakeup(multi)
  }

  // MARK: - The transfer thread

  private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

  private func run() {
    var active: [UInt64: CurlTransfer] = [:]
    while true {
      let (submitted, cancelled, resumed, stopping) = queue.withLock { queue in
        defer {
          queue.submitted.removeAll()
          queue.cancelled.removeAll()
          queue.resumed.removeAll()
        }
        return (queue.submitted, queue.cancelled, queue.resumed, queue.stopping)
      }
      for transfer in submitted {
        active[transfer.id] = transfer
        curl_multi_add_handle(multi, transfer.easy)
      }
      for id in cancelled {
        guard let transfer = active.removeValue(forKey: id) else { continue }
        curl_multi_remove_handle(multi, transfer.easy)
        transfer.complete(.failure(CancellationError()))
      }
      for id in resumed {
        guard let transfer = active[id] else { continue }
        _ = agentcube_curl_resume_receiving(transfer.easy)
      }
      if stopping {
        for transfer in active.values {
          curl_multi_remove_handle(multi, transfer.easy)
          transfer.complete(.failure(HTTPTransferError(kind: .other, description: "the HTTP client is shut down")))
        }
        curl_multi_cleanup(multi)
        return
      }
      var running: Int32 = 0
      curl_multi_perform(multi, &running)
      var easy: UnsafeMutableRawPointer?
      var result = CURLE_OK
      while agentcube_curl_multi_next_done(multi, &easy, &result) == 1, let easy {
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(agentcube_curl_private(easy)).takeUnretainedValue()
        guard active.removeValue(forKey: transfer.id) != nil else { continue }
        curl_multi_remove_handle(multi, easy)
        if let failure = transfer.failure(result) {
          transfer.complete(.failure(failure))
        } else {
          transfer.complete(.success(()))
        }
      }
      var ready: Int32 = 0
      curl_multi_poll(multi, nil, 0, 1000, &ready)
    }
  }
}
