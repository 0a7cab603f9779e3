import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// Waits until the process receives one of `signals` and returns it; `nil` when the task is
/// cancelled first. The signals' default actions (ending the process) are off from the call on.
func waitForSignal(_ signals: [Int32]) async -> Int32? {
  let (received, continuation) = AsyncStream.makeStream(of: Int32.self)
  let sources = signals.map { number in
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler { continuation.yield(number) }
    source.resume()
    return source
  }
  defer { for source in sources { source.cancel() } }
  // An AsyncStream's iteration ends when the waiting task is cancelled.
  for await number in received { return number }
  return nil
}
