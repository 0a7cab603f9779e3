import AgentCube
import ArgumentParser
import Foundation
import NIOCore

/// `idle-tunnels`: the server's memory before, with, and after N idle tunnels to one session.
struct IdleTunnels: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Open N idle tunnels to one session; report the server's RSS and open files.")

  @OptionGroup var connection: ServerConnectionOptions

  @Option(help: "Idle tunnels to hold open at once.")
  var tunnels: Int = 1000

  @Option(help: "Tunnels opened and closed first, so that lazily built state is not counted.")
  var warmUp: Int = 50

  @Option(help: "Tunnels being opened at the same time.")
  var window: Int = 32

  @Option(help: "Bytes each tunnel sends to the sink before it goes idle (0: none), to see what a used tunnel keeps.")
  var primeBytes: Int = 0

  /// What /proc says about the server at one moment.
  struct Snapshot {
    var rss: Int
    var rssAnon: Int
    var openFiles: Int

    init(pid: Int32) {
      rss = ProcessStats.statusKiB(pid: pid, "VmRSS") ?? -1
      rssAnon = ProcessStats.statusKiB(pid: pid, "RssAnon") ?? -1
      openFiles = ProcessStats.openFiles(pid: pid)
    }
  }

  func run() async throws {
    let limit = ProcessStats.raiseOpenFileLimit()
    guard limit > tunnels + 64 else {
      throw BenchmarkError("open-file limit \(limit) is too low for \(tunnels) tunnels")
    }
    let client = connection.makeClient()
    let pid = connection.serverPid
    let text = try await withSinkSession(client, image: connection.image) { session in
      let idle = ProcessStats.openFiles(pid: pid)
      try await hold(warmUp, client: client, session: session) {}
      try await waitFor("the warm-up tunnels' files closed") { ProcessStats.openFiles(pid: pid) <= idle }
      let before = Snapshot(pid: pid)
      var held = before
      try await hold(tunnels, client: client, session: session) {
        // Every tunnel is open on the client's side; wait until the server holds both sockets of each.
        try await waitFor("\(2 * tunnels) more open files") {
          ProcessStats.openFiles(pid: pid) >= before.openFiles + 2 * tunnels
        }
        held = Snapshot(pid: pid)
      }
      try await waitFor("the tunnels' files closed") { ProcessStats.openFiles(pid: pid) <= before.openFiles }
      let after = Snapshot(pid: pid)
      return report(before: before, held: held, after: after)
    }
    await client.close()
    print(text)
  }

  /// Opens `count` tunnels (at most `window` being opened at once), runs `body` while all are
  /// open, then closes them all.
  private func hold(
    _ count: Int, client: AgentCubeClient, session: Session, _ body: () async throws -> Void
  ) async throws {
    let primeBytes = primeBytes
    let gate = Gate()
    let (opened, openedContinuation) = AsyncStream<(any Error)?>.makeStream()
    try await withThrowingTaskGroup(of: Void.self) { group in
      var iterator = opened.makeAsyncIterator()
      var pending = 0
      func next() async throws {
        guard let result = await iterator.next() else { throw BenchmarkError("tunnel tasks ended") }
        if let failure = result {
          await gate.open()
          throw failure
        }
        pending -= 1
      }
      for _ in 0..<count {
        if pending >= window { try await next() }
        pending += 1
        group.addTask {
          do {
            try await client.sessions.withTunnel(sessionID: session.id) { tunnel in
              if primeBytes > 0 { try await tunnel.outbound.write(ByteBuffer(repeating: 0x78, count: primeBytes)) }
              openedContinuation.yield(nil)
              await gate.wait()
            }
          } catch {
            openedContinuation.yield(error)
          }
        }
      }
      while pending > 0 { try await next() }
      do {
        try await body()
      } catch {
        await gate.open()
        throw error
      }
      await gate.open()
      try await group.waitForAll()
    }
  }

  private func waitFor(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while !condition() {
      guard ContinuousClock.now < deadline else {
        throw BenchmarkError(
          "timed out waiting for \(what) (server has \(ProcessStats.openFiles(pid: connection.serverPid)))")
      }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  private func report(before: Snapshot, held: Snapshot, after: Snapshot) -> String {
    func perTunnel(_ kib: Int) -> String { (Double(kib) / Double(tunnels)).fixed(1) }
    return """
      \(tunnels) idle tunnels to one session (after \(warmUp) opened and closed to warm up)\
      \(primeBytes > 0 ? ", each after sending \(primeBytes) bytes" : ", none used").

      | server | VmRSS KiB | RssAnon KiB | open files |
      |---|---:|---:|---:|
      | before | \(before.rss) | \(before.rssAnon) | \(before.openFiles) |
      | \(tunnels) tunnels open | \(held.rss) | \(held.rssAnon) | \(held.openFiles) |
      | all closed again | \(after.rss) | \(after.rssAnon) | \(after.openFiles) |

      - per tunnel: \(perTunnel(held.rss - before.rss)) KiB VmRSS, \
      \(perTunnel(held.rssAnon - before.rssAnon)) KiB RssAnon
      - kept after closing: \(after.rss - before.rss) KiB VmRSS
      """
  }
}

/// Holds tunnels open until released.
actor Gate {
  private var isOpen = false
  private var waiters: [CheckedContinuation<Void, Never>] = []

  func wait() async {
    if isOpen { return }
    await withCheckedContinuation { waiters.append($0) }
  }

  func open() {
    isOpen = true
    for waiter in waiters { waiter.resume() }
    waiters = []
  }
}
