import AgentCube
import AgentCubeLocalBackend
import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix

/// `agentcube-bench unary` (the default mode): unary calls over the Unix socket against the real
/// server, in this process.
struct AgentCubeBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unary",
    abstract: "Measure unary calls over the Unix socket against an in-process AgentCube server.",
    discussion: """
      Starts the real SessionServer (logging and token-file authentication interceptors, the router,
      the local backend in a temporary state directory) on a Unix socket, then, for every method and
      concurrency level, runs that many tasks sharing one SDK client (one connection), each with one
      call in flight: a warm-up, then the measured phase. Prints a Markdown table: calls/s, latency
      percentiles, CPU time per call and peak RSS of this process (server and client together).
      Build and run in release mode.
      """)

  @Option(help: "Seconds of the measured phase of each configuration.")
  var duration: Double = 10

  @Option(help: "Instead of --duration: this many calls per configuration.")
  var calls: Int?

  @Option(
    help: "Calls in flight, comma-separated (at most 100, the server's per-connection limit).",
    transform: { try parseList($0, Int.init) })
  var concurrency: [Int] = [1, 32]

  @Option(
    help: "Methods, comma-separated: \(BenchmarkMethod.allCases.map(\.rawValue).joined(separator: ", ")).",
    transform: { try parseList($0, BenchmarkMethod.init(rawValue:)) })
  var method: [BenchmarkMethod] = [.health, .listSessions]

  @Option(
    help: """
      Authenticators, comma-separated: token-file, tokenreview (TokenReview against the Kubernetes API \
      emulator over HTTPS, warm after each token's first call). With several, each method and \
      concurrency is measured with one after the other, --rounds times.
      """,
    transform: { try parseList($0, BenchmarkAuthenticator.init(rawValue:)) })
  var authenticator: [BenchmarkAuthenticator] = [.tokenFile]

  @Option(help: "Times each method and concurrency is measured with every authenticator, alternating.")
  var rounds: Int = 1

  @Option(help: "Seconds of warm-up (same load, not measured) before each configuration.")
  var warmup: Double = 2

  @Option(help: "Most calls measured per configuration (each keeps an 8-byte latency).")
  var maxSamples: Int = 4_000_000

  @Flag(
    help: """
      Run Swift concurrency's global executor on NIO's event loop threads \
      (NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor), \
      so calls do not hop between NIO's threads and the concurrency pool.
      """)
  var nioGlobalExecutor = false

  @Option(help: "Server log level; successful calls log at debug, NOT_FOUND at info.")
  var logLevel: String = "warning"

  func validate() throws {
    guard duration > 0, duration <= 3600 else { throw ValidationError("--duration must be in (0, 3600] seconds") }
    guard warmup >= 0, warmup <= 600 else { throw ValidationError("--warmup must be in [0, 600] seconds") }
    guard !concurrency.isEmpty, concurrency.allSatisfy({ (1...100).contains($0) }) else {
      throw ValidationError("--concurrency values must be between 1 and 100")
    }
    guard !method.isEmpty else { throw ValidationError("--method needs at least one method") }
    guard !authenticator.isEmpty, Set(authenticator).count == authenticator.count else {
      throw ValidationError("--authenticator needs one or more different authenticators")
    }
    guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be in 1...100") }
    guard (1...100_000_000).contains(maxSamples) else {
      throw ValidationError("--max-samples must be in 1...100000000")
    }
    if let calls {
      guard (1...maxSamples).contains(calls) else {
        throw ValidationError("--calls must be between 1 and --max-samples")
      }
      guard concurrency.allSatisfy({ $0 <= calls }) else {
        throw ValidationError("--calls must be at least --concurrency")
      }
    }
    guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
  }

  func run() async throws {
    if nioGlobalExecutor {
      guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else {
        throw ValidationError("could not install NIO's event loops as the global executor")
      }
    }
    // The table goes to standard output; logs and progress to standard error.
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: "agentcube-bench")
    logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning

    var servers: [BenchmarkAuthenticator: BenchmarkServer] = [:]
    var rows: [Report.Row] = []
    var idleResident: Int?
    var loadBefore: String?
    do {
      for kind in authenticator { servers[kind] = try await BenchmarkServer.start(logger: logger, authenticator: kind) }
      idleResident = ProcessStats.residentKiB()
      loadBefore = ProcessStats.loadAverage()
      try await withThrowingTaskGroup(of: Void.self) { group in
        // The backends' reapers, as agentcubed runs them.
        for server in servers.values { group.addTask { try await server.backend.run() } }
        rows = try await measureAll(servers: servers)
        group.cancelAll()
      }
    } catch {
      for server in servers.values { await server.stop() }
      throw error
    }
    let reviews = servers[.tokenReview]?.tokenReview?.reviews
    for server in servers.values { await server.stop() }
    let loadAfter = ProcessStats.loadAverage()

    let report = Report(
      rows: rows, idleResidentKiB: idleResident, stop: calls.map { "\($0) calls" } ?? "\(duration) s",
      warmup: warmup, loadBefore: loadBefore, loadAfter: loadAfter)
    print(report.markdown)
    if let comparison = report.comparison { print("\n" + comparison) }
    if let reviews {
      print("\nTokenReviews the emulator answered during the whole run (warm-ups included): \(reviews).")
    }
  }

  private func measureAll(servers: [BenchmarkAuthenticator: BenchmarkServer]) async throws -> [Report.Row] {
    var rows: [Report.Row] = []
    let stop: LoadRunner.Stop = calls.map { .calls($0) } ?? .after(.milliseconds(Int64(duration * 1000)))
    for method in method {
      for concurrency in concurrency {
        for _ in 0..<rounds {
          for kind in authenticator {
            // Present: a server was started for every authenticator.
            rows.append(try await measure(method, concurrency, kind, server: servers[kind]!, stop: stop))
          }
        }
      }
    }
    return rows
  }

  private func measure(
    _ method: BenchmarkMethod, _ concurrency: Int, _ kind: BenchmarkAuthenticator, server: BenchmarkServer,
    stop: LoadRunner.Stop
  ) async throws -> Report.Row {
    FileHandle.standardError.write(Data("\(method.rawValue), \(concurrency) in flight, \(kind.rawValue)…\n".utf8))
    let client = AgentCubeClient(
      target: .unixSocket(path: server.socketPath), token: method.needsToken ? .token(server.token) : .none)
    let runner = LoadRunner(
      method: method, concurrency: concurrency, warmup: .milliseconds(Int64(warmup * 1000)), stop: stop,
      maxCallsPerWorker: maxSamples / concurrency)
    ProcessStats.releaseFreeMemory()
    ProcessStats.resetPeakResident()
    let measurement: LoadRunner.Measurement
    do {
      measurement = try await runner.run(client: client)
    } catch {
      await client.close()
      throw error
    }
    await client.close()
    // What stays once the row's samples are freed: growth from row to row would be a leak.
    ProcessStats.releaseFreeMemory()
    return Report.Row(
      method: method, concurrency: concurrency, authenticator: kind, measurement: measurement,
      residentAfterKiB: ProcessStats.residentKiB())
  }
}

/// Parses `a,b,c` with `element`; fails on an empty or unparseable item.
func parseList<T>(_ text: String, _ element: (String) -> T?) throws -> [T] {
  try text.split(separator: ",", omittingEmptySubsequences: false).map { item in
    let item = item.trimmingCharacters(in: .whitespaces)
    guard let value = element(item) else { throw ValidationError("cannot read '\(item)' in '\(text)'") }
    return value
  }
}
