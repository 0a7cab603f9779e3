import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// TokenReview, authentication and authorization, through the real curl over HTTPS with the test CA.
@Suite("KubernetesEmulator: TokenReview")
struct TokenReviewTests {
  typealias F = EmulatorFixture

  @Test func validTokenIsAuthenticatedWithItsUser() async throws {
    try await F.with { f in
      print("emulator started in \(f.startup)")
      let result = try await f.request(body: F.review(F.agent.token, audiences: ["agentcube"]))
      #expect(result.exitCode == 0, "\(result)")
      #expect(result.status == 201, "\(result)")
      #expect(result.header("Content-Type") == "application/json")
      #expect(result.json["kind"] as? String == "TokenReview")
      #expect(result.json["apiVersion"] as? String == "authentication.k8s.io/v1")
      let spec = try #require(result.json["spec"] as? [String: Any])
      #expect(spec["audiences"] as? [String] == ["agentcube"])
      let status = result.reviewStatus
      #expect(status["authenticated"] as? Bool == true)
      #expect(status["audiences"] as? [String] == ["agentcube"])
      let user = try #require(status["user"] as? [String: Any])
      #expect(user["username"] as? String == "system:serviceaccount:team-a:agent")
      #expect(user["uid"] as? String == "uid-agent")
      #expect(
        user["groups"] as? [String] == [
          "system:serviceaccounts", "system:serviceaccounts:team-a", "system:authenticated",
        ])
      let extra = try #require(user["extra"] as? [String: [String]])
      #expect(extra["authentication.kubernetes.io/pod-name"] == ["agent-7f9c"])
      #expect(f.emulator.count(of: .tokenReviews) == 1)
    }
  }

  @Test func unknownExpiredAndRevokedTokensAreNotAuthenticated() async throws {
    try await F.with { f in
      let unknown = try await f.request(body: F.review("no-such-token", audiences: ["agentcube"]))
      #expect(unknown.status == 201, "\(unknown)")
      #expect(unknown.reviewStatus["authenticated"] as? Bool == false)
      #expect(unknown.reviewStatus["error"] as? String == "[invalid bearer token]")

      let expired = try await f.request(body: F.review(F.expiredAgent.token, audiences: ["agentcube"]))
      #expect(expired.reviewStatus["authenticated"] as? Bool == false)
      #expect(
        expired.reviewStatus["error"] as? String == "[invalid bearer token, service account token has expired]")

      let before = try await f.request(body: F.review(F.agent.token, audiences: ["agentcube"]))
      #expect(before.reviewStatus["authenticated"] as? Bool == true)
      f.emulator.tokens.revoke(F.agent.token)
      let after = try await f.request(body: F.review(F.agent.token, audiences: ["agentcube"]))
      #expect(after.reviewStatus["authenticated"] as? Bool == false)
      #expect(
        after.reviewStatus["error"] as? String
          == "[invalid bearer token, service account token has been invalidated]")
      #expect(f.emulator.count(of: .tokenReviews) == 4)
    }
  }

  @Test func audiencesMatchOrNot() async throws {
    try await F.with { f in
      let two = try await f.request(body: F.review(F.agent.token, audiences: ["other", "agentcube"]))
      #expect(two.reviewStatus["authenticated"] as? Bool == true)
      #expect(two.reviewStatus["audiences"] as? [String] == ["agentcube"])

      let mismatch = try await f.request(body: F.review(F.agent.token, audiences: ["other"]))
      #expect(mismatch.status == 201)
      #expect(mismatch.reviewStatus["authenticated"] as? Bool == false)
      #expect(
        mismatch.reviewStatus["error"] as? String
          == "[invalid bearer token, token audiences [\"agentcube\"] is invalid for the target audiences [\"other\"]]")

      // No audiences named: the API server's own are the target, and this token is not for them.
      let none = try await f.request(body: F.review(F.agent.token))
      #expect(none.reviewStatus["authenticated"] as? Bool == false)
      // An audience-less (legacy) token is valid for whatever is asked.
      f.emulator.tokens.add(TokenRecord(token: "legacy-secret", user: .init(username: "legacy", uid: "u1")))
      let legacy = try await f.request(body: F.review("legacy-secret", audiences: ["x"]))
      #expect(legacy.reviewStatus["authenticated"] as? Bool == true)
      #expect(legacy.reviewStatus["audiences"] as? [String] == ["x"])
    }
  }

  @Test(arguments: [nil, "no-such-reviewer", F.expiredAgent.token])
  func reviewerWithoutValidTokenGets401(bearer: String?) async throws {
    try await F.with { f in
      let result = try await f.request(bearer: bearer, body: F.review(F.agent.token))
      #expect(result.status == 401, "\(result)")
      #expect(
        result.body
          == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
      )
      #expect(result.header("Content-Type") == "application/json")
    }
  }

  @Test func reviewerRevokedAtRuntimeGets401() async throws {
    try await F.with { f in
      let answer1 = try await f.request(body: F.review(F.agent.token))
      #expect(answer1.status == 201)
      f.emulator.tokens.revoke(F.reviewer.token)
      let answer2 = try await f.request(body: F.review(F.agent.token))
      #expect(answer2.status == 401)
      f.emulator.tokens.add(F.reviewer)
      f.emulator.tokens.expire(F.reviewer.token)
      let answer3 = try await f.request(body: F.review(F.agent.token))
      #expect(answer3.status == 401)
    }
  }

  @Test func reviewerWithoutPermissionGets403InKubesWords() async throws {
    try await F.with { f in
      let result = try await f.request(bearer: F.powerless.token, body: F.review(F.agent.token))
      #expect(result.status == 403, "\(result)")
      let json = result.json
      #expect(json["kind"] as? String == "Status")
      #expect(json["status"] as? String == "Failure")
      #expect(json["reason"] as? String == "Forbidden")
      #expect(json["code"] as? Int == 403)
      #expect(
        json["message"] as? String
          == #"tokenreviews.authentication.k8s.io is forbidden: User "system:serviceaccount:ns:name" cannot create resource "tokenreviews" in API group "authentication.k8s.io" at the cluster scope"#
      )
      #expect(json["details"] as? [String: String] == ["group": "authentication.k8s.io", "kind": "tokenreviews"])
    }
  }

  @Test func badRequests() async throws {
    try await F.with { f in
      let malformed = try await f.request(body: "{not json")
      #expect(malformed.status == 400, "\(malformed)")
      #expect(malformed.json["reason"] as? String == "BadRequest")
      let noToken = try await f.request(
        body: #"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{}}"#)
      #expect(noToken.status == 400)
      #expect(noToken.json["message"] as? String == "token is required for TokenReview in authentication")
      let wrongMethod = try await f.request(method: "GET")
      #expect(wrongMethod.status == 405)
      let unknownPath = try await f.request("/apis/nothing/v1/here", method: "GET")
      #expect(unknownPath.status == 404)
      #expect(unknownPath.json["reason"] as? String == "NotFound")
      // kube authenticates before routing: an unknown path without credentials is 401.
      let answer4 = try await f.request("/apis/nothing/v1/here", method: "GET", bearer: nil)
      #expect(answer4.status == 401)
      // 405 and both 404s: no route took them.
      #expect(f.emulator.count(of: .unmatched) == 3)
    }
  }

  @Test func oversizedBodyGets413() async throws {
    try await F.with { f in
      let large = F.review(String(repeating: "x", count: (1 << 20) + 10))
      let result = try await f.request(body: large)
      #expect(result.status == 413, "\(result)")
      #expect(result.json["reason"] as? String == "RequestEntityTooLarge")
    }
  }
}
