import AgentCube
import AgentCubeTestSupport
import Foundation

/// One soak run against a started daemon: the pool, the load and its faults, then the way back to
/// the descriptor levels of before.
struct SoakRun {
  var soak: Soak
  var fixture: DaemonFixture
  var pid: Int32

  /// Everything the load's parts produced.
  struct Parts: Sendable {
    var clients = SoakTally()
    var churn = SoakTally()
    var tunnels = EchoTunnels.Result()
    var vanishing = VanishingClients.Result()
    var halfOpen = HalfOpenConnections.Result()
    var slowReaders: [SlowReading] = []
    var slowTunnels: [SlowReading] = []
  }

  private enum Part: Sendable {
    case clients(SoakTally), churn(SoakTally), tunnels(EchoTunnels.Result), vanishing(VanishingClients.Result)
    case halfOpen(HalfOpenConnections.Result), slowReader(SlowReading), slowTunnel(SlowReading)
  }

  func run() async throws -> SoakReport {
    // The token is read once and never printed.
    let token = try String(contentsOfFile: fixture.tokenFile, encoding: .utf8).trimmingCharacters(
      in: .whitespacesAndNewlines)
    let target = ConnectionTarget.unixSocket(path: fixture.socketPath)
    let calls = SoakCounter()
    let sampler = ServerSampler(pid: pid, calls: calls)
    let idle = sampler.sample()
    let idleFiles = ProcessStats.openFileTargets(pid: pid)
    let setup = AgentCubeClient(target: target, token: .token(token))
    let interval = Duration.milliseconds(Int64(soak.sampleInterval * 1000))
    let sampling = Task { await sampler.run(every: interval) }
    defer { sampling.cancel() }
    var report = SoakReport(soak: soak, idle: idle)
    report.loadAverages.before = ProcessStats.loadAverage()
    do {
      progress("creating \(soak.poolSessions) sessions of image '\(DaemonFixture.echoImage)'…")
      sampler.enter("pool")
      let pool = try await createPool(setup)
      report.beforeLoad = sampler.sample()
      progress("load for \(soak.duration) s…")
      sampler.enter("load")
      let loadStart = ContinuousClock.now
      report.loadStartSeconds = report.beforeLoad.seconds
      let parts = await load(target: target, token: token, pool: pool, calls: calls)
      report.loadSeconds = (ContinuousClock.now - loadStart).seconds
      report.loadAverages.after = ProcessStats.loadAverage()
      report.parts = parts
      sampler.enter("after")
      progress("waiting for the descriptors to return to \(report.beforeLoad.openFiles)…")
      (report.afterLoad, report.settleSeconds) = await settle(
        sampler, atMost: report.beforeLoad.openFiles, beyond: idleFiles)
      sampler.enter("cleanup")
      for id in pool { _ = try? await setup.sessions.deleteSession(DeleteSessionRequest(sessionID: id)) }
      await setup.close()  // its connection was not open in the idle sample either
      report.afterCleanup = await settle(sampler, atMost: idle.openFiles, beyond: idleFiles).sample
      report.filesLeftOpen = Self.kinds(of: ProcessStats.openFileTargets(pid: pid), beyond: idleFiles)
    } catch {
      await setup.close()
      throw error
    }
    await setup.close()
    sampling.cancel()
    report.samples = sampler.samples
    return report
  }

  private func createPool(_ client: AgentCubeClient) async throws -> [String] {
    try await withThrowingTaskGroup(of: String.self) { group in
      var ids: [String] = []
      for index in 0..<soak.poolSessions {
        if index >= 4, let id = try await group.next() { ids.append(id) }  // four creates at a time
        group.addTask {
          try await client.sessions.createSession(
            CreateSessionRequest(image: DaemonFixture.echoImage, ttlSeconds: 3600)
          )
          .session.id
        }
      }
      for try await id in group { ids.append(id) }
      return ids
    }
  }

  /// Runs every part of the load at once until the deadline; returns when the last one has ended
  /// (half-open connections held at the deadline end within the server's timeout).
  private func load(target: ConnectionTarget, token: String, pool: [String], calls: SoakCounter) async -> Parts {
    let deadline = ContinuousClock.now + .milliseconds(Int64(soak.duration * 1000))
    let socketPath = fixture.socketPath
    let port = UInt32(DaemonFixture.echoPort)
    let shared = AgentCubeClient(target: target, token: .token(token))  // tunnels: a connection each
    // The parts, built here so that the tasks below capture only these values.
    let clients = SoakClients(
      count: soak.clients, target: target, token: token, pool: pool, pause: .milliseconds(soak.clientPauseMs),
      progress: calls)
    let tunnels = EchoTunnels(
      count: soak.tunnels, client: shared, pool: pool, port: port, chunkSize: soak.tunnelChunk,
      bytesPerSecond: soak.tunnelRate)
    let churn = SessionChurn(
      workers: soak.churnWorkers, client: shared, image: DaemonFixture.echoImage,
      pause: .milliseconds(Int64(soak.churnPause * 1000)))
    let vanishing = VanishingClients(
      socketPath: socketPath, token: token, pool: pool, echoPort: port, perSecond: soak.vanishPerSecond)
    let halfOpen = HalfOpenConnections(
      socketPath: socketPath, concurrent: soak.halfOpen, serverTimeout: .seconds(10), slack: .seconds(5))
    let slowReaders = (0..<soak.slowReaders).map { _ in
      SlowUnaryReader(socketPath: socketPath, token: token, requestsPerSecond: 500, answersPerSecond: 20)
    }
    let slowTunnels = (0..<soak.slowTunnels).map {
      SlowTunnelReader(client: shared, session: pool[$0 % pool.count], port: port, readBytesPerSecond: 64 << 10)
    }
    let parts = await withTaskGroup(of: Part.self) { group in
      group.addTask { .clients(await clients.run(until: deadline)) }
      group.addTask { .tunnels(await tunnels.run(until: deadline)) }
      group.addTask { .churn(await churn.run(until: deadline)) }
      group.addTask { .vanishing(await vanishing.run(until: deadline)) }
      group.addTask { .halfOpen(await halfOpen.run(until: deadline)) }
      for reader in slowReaders { group.addTask { .slowReader(await reader.run(until: deadline)) } }
      for (index, reader) in slowTunnels.enumerated() {
        group.addTask { .slowTunnel(await reader.run(index: index, until: deadline)) }
      }
      var parts = Parts()
      for await part in group {
        switch part {
        case .clients(let tally): parts.clients = tally
        case .churn(let tally): parts.churn = tally
        case .tunnels(let result): parts.tunnels = result
        case .vanishing(let result): parts.vanishing = result
        case .halfOpen(let result): parts.halfOpen = result
        case .slowReader(let result): parts.slowReaders.append(result)
        case .slowTunnel(let result): parts.slowTunnels.append(result)
        }
      }
      return parts
    }
    await shared.close()
    return parts
  }

  /// Waits until the server holds at most `openFiles` descriptors, or `--settle` seconds pass;
  /// returns a sample then and how long it took. When it takes over a second, says on standard
  /// error which descriptors (beyond those of the idle server) are still open.
  private func settle(
    _ sampler: ServerSampler, atMost openFiles: Int, beyond idleFiles: [String]
  ) async -> (sample: ServerSampler.Sample, seconds: Double) {
    let start = ContinuousClock.now
    let deadline = start + .milliseconds(Int64(soak.settle * 1000))
    var told = false
    while (ProcessStats.openFiles(pid: pid) ?? .max) > openFiles, ContinuousClock.now < deadline {
      if !told, ContinuousClock.now - start > .seconds(1) {
        told = true
        let open = Self.kinds(of: ProcessStats.openFileTargets(pid: pid), beyond: idleFiles)
        progress("still open after 1 s: \(open.joined(separator: ", "))")
      }
      try? await Task.sleep(for: .milliseconds(250))
    }
    return (sampler.sample(), (ContinuousClock.now - start).seconds)
  }

  /// The descriptors of `now` that `before` had not, by kind: `unix socket` (in /proc/net/unix)
  /// or `other socket` (TCP, here a tunnel's end inside a sandbox's network) for sockets, whose
  /// inodes change, `pipe`, `anon_inode:[eventfd]` and the like, paths as they are.
  private static func kinds(of now: [String], beyond before: [String]) -> [String] {
    let unixInodes = Set(
      ((try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8)) ?? "").split(separator: "\n").dropFirst()
        .compactMap { line in line.split(separator: " ").dropFirst(6).first.map(String.init) })
    func kind(_ target: String) -> String {
      if target.hasPrefix("socket:[") {
        return unixInodes.contains(String(target.dropFirst(8).dropLast())) ? "unix socket" : "other socket"
      }
      return target.hasPrefix("pipe:") ? "pipe" : target
    }
    var left = Dictionary(before.map { (kind($0), 1) }, uniquingKeysWith: +)
    var extra: [String] = []
    for target in now.map(kind) {
      if let count = left[target], count > 0 { left[target] = count - 1 } else { extra.append(target) }
    }
    return extra.sorted()
  }

  private func progress(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
}
