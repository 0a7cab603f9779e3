import AgentCubeCore
import AgentCubeKubernetes
import AgentCubeServer
import ArgumentParser
import Foundation

/// `agentcube-bench auth-cache`: the cost of one warm authentication check, TokenReview's cache
/// against the token file's lookup, in the same run.
struct AuthCache: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "auth-cache",
    abstract: "Time a warm TokenReview-cache authentication check against a token-file lookup.",
    discussion: """
      Fills a TokenReviewCache with --tokens identities (reviews answered in memory: no API is
      involved once warm), then times batches of --batch checks of random cached tokens, as the
      interceptor chain makes them, and the same for TokenFileAuthenticator over a token file of the
      same tokens; rounds alternate between the two. Prints the median and p99 of the per-check time
      of each batch. Build and run in release mode.
      """)

  @Option(help: "Distinct cached tokens.")
  var tokens: Int = 10_000

  @Option(help: "Checks per timed batch.")
  var batch: Int = 10_000

  @Option(help: "Batches per authenticator (alternating).")
  var rounds: Int = 200

  func run() async throws {
    let secrets = (0..<tokens).map { index in "bench-token-\(index)-" + UUID().uuidString }
    let identity = try Identity(username: "system:serviceaccount:bench:client", uid: "uid", groups: ["system:serviceaccounts"])
    var configuration = TokenReviewCache.Configuration()
    configuration.capacity = tokens
    configuration.successLifetime = .seconds(3600)
    let cache = TokenReviewCache(configuration: configuration)
    for secret in secrets { _ = try await cache.identity(for: BearerToken(secret)) { identity } }

    let directory = NSTemporaryDirectory() + "acbench-auth-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let lines = secrets.map { "\($0),system:serviceaccount:bench:client,uid,\"system:serviceaccounts\"" }
    try lines.joined(separator: "\n").write(toFile: directory + "/tokens.csv", atomically: true, encoding: .utf8)
    let tokenFile = try TokenFileAuthenticator(path: directory + "/tokens.csv")

    // The whole authenticator as the interceptor calls it, over the same warm cache (the API is
    // never reached: every token is cached).
    let http = CurlHTTPClient()
    defer { http.shutdown() }
    let unreachable = KubernetesAPI(server: "https://127.0.0.1:1", tls: TLSCredentials(), token: { nil }, http: http)
    let authenticator = TokenReviewAuthenticator(api: unreachable, cache: cache)
    let order = (0..<(batch * 4)).map { _ in BearerToken(secrets.randomElement()!) }
    var cacheTimes: [Double] = []
    var authenticatorTimes: [Double] = []
    var fileTimes: [Double] = []
    for _ in 0..<rounds {
      cacheTimes.append(try await Self.time(order.prefix(batch)) { try await cache.identity(for: $0) { identity } })
      authenticatorTimes.append(try await Self.time(order.prefix(batch)) { try await authenticator.authenticate($0) })
      fileTimes.append(try await Self.time(order.prefix(batch)) { try await tokenFile.authenticate($0) })
    }
    let statistics = cache.statistics
    guard statistics.reviews == tokens else { throw ValidationError("the timed checks reviewed: \(statistics)") }
    print("| authenticator | median ns/check | p99 ns/check |")
    print("|---|---:|---:|")
    for (name, times) in [
      ("TokenReview cache, warm", cacheTimes), ("TokenReviewAuthenticator, warm", authenticatorTimes),
      ("token file", fileTimes),
    ] {
      let sorted = times.sorted()
      print("| \(name) | \(Int(sorted[sorted.count / 2])) | \(Int(sorted[min(sorted.count - 1, sorted.count * 99 / 100)])) |")
    }
    print("\(tokens) tokens, \(rounds) batches of \(batch) checks each; cache: \(statistics.hits) hits, \(statistics.reviews) reviews")
  }

  /// Nanoseconds per check, over one batch.
  private static func time(
    _ tokens: ArraySlice<BearerToken>, _ check: (BearerToken) async throws -> Identity
  ) async throws -> Double {
    let start = ContinuousClock.now
    for token in tokens { _ = try await check(token) }
    let elapsed = ContinuousClock.now - start
    return (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(tokens.count)
  }
}
