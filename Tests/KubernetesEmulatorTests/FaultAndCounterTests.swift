import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// Injected faults, counters and connection reuse, through the real curl.
@Suite("KubernetesEmulator: faults and counters")
struct FaultAndCounterTests {
  typealias F = EmulatorFixture

  @Test func tooManyRequestsWithRetryAfterForTheNextRequestOnly() async throws {
    try await F.with { f in
      f.emulator.inject(.tooManyRequests(retryAfterSeconds: 7), on: .route(.tokenReviews), times: 1)
      let throttled = try await f.request(body: F.review(F.agent.token))
      #expect(throttled.status == 429, "\(throttled)")
      #expect(throttled.header("Retry-After") == "7")
      #expect(throttled.json["reason"] as? String == "TooManyRequests")
      #expect(throttled.json["code"] as? Int == 429)
      let answer1 = try await f.request(body: F.review(F.agent.token))
      #expect(answer1.status == 201)
    }
  }

  @Test func internalErrorUntilCleared() async throws {
    try await F.with { f in
      f.emulator.inject(.status(500))
      for _ in 0..<2 {
        let failed = try await f.request(body: F.review(F.agent.token))
        #expect(failed.status == 500, "\(failed)")
        #expect(failed.json["reason"] as? String == "InternalError")
        #expect(failed.json["kind"] as? String == "Status")
      }
      f.emulator.clearFaults()
      let answer2 = try await f.request(body: F.review(F.agent.token))
      #expect(answer2.status == 201)
      #expect(f.emulator.count(of: .tokenReviews) == 3)
    }
  }

  @Test func faultOnAnotherRouteDoesNotApply() async throws {
    try await F.with { f in
      f.emulator.inject(.status(503), on: .route(RouteID("sandboxes")))
      let answer3 = try await f.request(body: F.review(F.agent.token))
      #expect(answer3.status == 201)
    }
  }

  @Test func delayHoldsTheAnswer() async throws {
    try await F.with { f in
      f.emulator.inject(.delay(.milliseconds(400)), times: 1)
      let delayed = try await f.request(body: F.review(F.agent.token))
      #expect(delayed.status == 201, "\(delayed)")
      #expect(delayed.seconds >= 0.4, "\(delayed.seconds) s")
      print("delayed request took \(delayed.seconds) s")
    }
  }

  @Test func closedConnectionWithoutAnswer() async throws {
    try await F.with { f in
      f.emulator.inject(.closeConnection, times: 1)
      let dropped = try await f.request(body: F.review(F.agent.token))
      #expect(dropped.exitCode == 52, "\(dropped)")  // CURLE_GOT_NOTHING
      let answer4 = try await f.request(body: F.review(F.agent.token))
      #expect(answer4.status == 201)
      #expect(f.emulator.recentRequests.map(\.status) == [nil, 201])
    }
  }

  @Test func refusedConnectionsThenAcceptedAgainOnTheSamePort() async throws {
    try await F.with { f in
      let answer5 = try await f.request(body: F.review(F.agent.token))
      #expect(answer5.status == 201)
      await f.emulator.refuseConnections()
      let refused = try await f.request(body: F.review(F.agent.token))
      #expect(refused.exitCode == 7, "\(refused)")  // CURLE_COULDNT_CONNECT
      #expect(refused.stderr.contains("refused") || refused.stderr.contains("Couldn't connect"), "\(refused)")
      try await f.emulator.acceptConnections()
      let answer6 = try await f.request(body: F.review(F.agent.token))
      #expect(answer6.status == 201)
      #expect(f.emulator.connectionsAccepted == 2)
    }
  }

  @Test func keepAliveReusesOneTLSConnection() async throws {
    try await F.with { f in
      let results = try await f.curl(body: F.review(F.agent.token, audiences: ["agentcube"]), repeat: 2)
      #expect(results.map(\.status) == [201, 201], "\(results)")
      #expect(results.map(\.connects) == [1, 0])
      #expect(f.emulator.connectionsAccepted == 1)
      #expect(f.emulator.count(of: .tokenReviews) == 2)
    }
  }

  @Test func countersAndLogKeepNoToken() async throws {
    try await F.with { f in
      _ = try await f.request(body: F.review(F.agent.token))
      _ = try await f.request(bearer: F.powerless.token, body: F.review(F.agent.token))
      _ = try await f.request("/api/v1/namespaces/x/configmaps/y?watch=1", method: "GET")
      #expect(f.emulator.count(of: .tokenReviews) == 2)
      #expect(f.emulator.count(of: .unmatched) == 1)
      #expect(f.emulator.requestCount == 3)
      let log = f.emulator.recentRequests
      #expect(
        log.map(\.description) == [
          "POST /apis/authentication.k8s.io/v1/tokenreviews -> 201",
          "POST /apis/authentication.k8s.io/v1/tokenreviews -> 403",
          "GET /api/v1/namespaces/x/configmaps/y -> 404",
        ])
      let printed = "\(log) \(F.reviewer) \(F.agent)"
      for secret in [F.reviewer.token, F.agent.token, F.powerless.token] { #expect(!printed.contains(secret)) }
      f.emulator.resetCounters()
      #expect(f.emulator.requestCount == 0)
    }
  }
}
