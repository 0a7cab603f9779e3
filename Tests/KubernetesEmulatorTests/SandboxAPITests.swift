import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// Sandbox create/get/list/update/patch/delete through the real curl, controller off (API only).
@Suite("KubernetesEmulator: Sandbox API")
struct SandboxAPITests {
  typealias F = EmulatorFixture
  static func apiOnly(_ configuration: inout EmulatorConfiguration) { configuration.sandboxes.controller.enabled = false }

  @Test func createGetListDeleteWithDefaultsAndResourceVersions() async throws {
    try await F.with(tokens: [F.admin], configure: Self.apiOnly) { f in
      let created = try await f.request(
        F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1", labels: ["managed-by": "agentcube"]))
      #expect(created.status == 201, "\(created)")
      let spec = try #require(created.json["spec"] as? [String: Any])
      #expect(spec["operatingMode"] as? String == "Running")
      #expect(spec["shutdownPolicy"] as? String == "Retain")
      #expect(created.json["status"] == nil)
      let metadata = created.metadata
      #expect(metadata["namespace"] as? String == "team-a")
      #expect(metadata["generation"] as? Int == 1)
      #expect((metadata["uid"] as? String)?.count == 36)
      #expect((metadata["creationTimestamp"] as? String)?.hasSuffix("Z") == true)
      let firstVersion = try #require(Int(created.resourceVersion))

      _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s2"))
      let got = try await f.request(F.sandboxes + "/s1", method: "GET", bearer: F.admin.token)
      #expect(got.status == 200)
      #expect(got.resourceVersion == created.resourceVersion)
      #expect(got.json["apiVersion"] as? String == "agents.x-k8s.io/v1beta1")

      let all = try await f.request(F.sandboxes, method: "GET", bearer: F.admin.token)
      #expect(all.json["kind"] as? String == "SandboxList")
      #expect(all.names == ["s1", "s2"])
      #expect(Int(all.resourceVersion) ?? 0 > firstVersion)
      for selector in ["managed-by%3Dagentcube", "managed-by", "managed-by%20in%20(agentcube,x)"] {
        let selected = try await f.request(F.sandboxes + "?labelSelector=\(selector)", method: "GET", bearer: F.admin.token)
        #expect(selected.names == ["s1"], "\(selector): \(selected)")
      }
      let negated = try await f.request(F.sandboxes + "?labelSelector=!managed-by", method: "GET", bearer: F.admin.token)
      #expect(negated.names == ["s2"])
      let everywhere = try await f.request("/apis/agents.x-k8s.io/v1beta1/sandboxes", method: "GET", bearer: F.admin.token)
      #expect(everywhere.names == ["s1", "s2"])
      let byName = try await f.request(
        F.sandboxes + "?fieldSelector=metadata.name%3Ds2", method: "GET", bearer: F.admin.token)
      #expect(byName.names == ["s2"])

      let deleted = try await f.request(F.sandboxes + "/s1", method: "DELETE", bearer: F.admin.token)
      #expect(deleted.status == 200, "\(deleted)")
      #expect(Int(deleted.resourceVersion) ?? 0 > Int(all.resourceVersion) ?? 0)
      let gone = try await f.request(F.sandboxes + "/s1", method: "GET", bearer: F.admin.token)
      #expect(gone.status == 404)
      #expect(
        gone.body
          == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"sandboxes.agents.x-k8s.io \"s1\" not found","reason":"NotFound","details":{"name":"s1","group":"agents.x-k8s.io","kind":"sandboxes"},"code":404}"#
      )
      let again = try await f.request(F.sandboxes + "/s1", method: "DELETE", bearer: F.admin.token)
      #expect(again.status == 404)
    }
  }

  @Test func validationAndConflictsInKubesWords() async throws {
    try await F.with(tokens: [F.admin], configure: Self.apiOnly) { f in
      let noTemplate = try await f.request(
        F.sandboxes, bearer: F.admin.token,
        body: #"{"apiVersion":"agents.x-k8s.io/v1beta1","kind":"Sandbox","metadata":{"name":"s1"},"spec":{"operatingMode":"Paused"}}"#)
      #expect(noTemplate.status == 422, "\(noTemplate)")
      #expect(noTemplate.json["reason"] as? String == "Invalid")
      #expect(
        noTemplate.json["message"] as? String
          == #"Sandbox.agents.x-k8s.io "s1" is invalid: [spec.podTemplate: Required value, spec.operatingMode: Unsupported value: "Paused": supported values: "Running", "Suspended"]"#
      )
      let details = try #require(noTemplate.json["details"] as? [String: Any])
      #expect(details["kind"] as? String == "Sandbox")
      #expect((details["causes"] as? [[String: String]])?.first?["field"] == "spec.podTemplate")

      let badName = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("Bad_Name"))
      #expect(badName.status == 422)
      #expect((badName.json["message"] as? String)?.hasPrefix(#"Sandbox.agents.x-k8s.io "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain"#) == true, "\(badName)")

      let noContainers = try await f.request(
        F.sandboxes, bearer: F.admin.token,
        body: #"{"apiVersion":"agents.x-k8s.io/v1beta1","kind":"Sandbox","metadata":{"name":"s1"},"spec":{"podTemplate":{"spec":{}},"shutdownTime":"tomorrow"}}"#)
      #expect(
        noContainers.json["message"] as? String
          == #"Sandbox.agents.x-k8s.io "s1" is invalid: [spec.podTemplate.spec.containers: Required value, spec.shutdownTime: Invalid value: "tomorrow": spec.shutdownTime in body must be of type date-time: "tomorrow"]"#
      )

      let numberAnnotation = try await f.request(
        F.sandboxes, bearer: F.admin.token,
        body: #"{"apiVersion":"agents.x-k8s.io/v1beta1","kind":"Sandbox","metadata":{"name":"s1","annotations":{"ttl":3600}},"spec":{"podTemplate":{"spec":{"containers":[{"name":"c"}]}}}}"#)
      #expect(numberAnnotation.status == 400, "\(numberAnnotation)")

      let wrongVersion = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1", version: "v1alpha1"))
      #expect(wrongVersion.status == 400)
      #expect(
        wrongVersion.json["message"] as? String
          == "the API version in the data (agents.x-k8s.io/v1alpha1) does not match the expected API version (agents.x-k8s.io/v1beta1)")

      let unknownField = try await f.request(
        F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1", extraSpec: ["replicas": 1]))
      #expect(unknownField.status == 201)
      #expect(unknownField.header("Warning") == #"299 - "unknown field \"spec.replicas\"""#)
      #expect((unknownField.json["spec"] as? [String: Any])?["replicas"] == nil)

      let duplicate = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1"))
      #expect(duplicate.status == 409)
      #expect(duplicate.json["reason"] as? String == "AlreadyExists")
      #expect(duplicate.json["message"] as? String == #"sandboxes.agents.x-k8s.io "s1" already exists"#)

      let generated = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("sandbox-"))
      let generatedName = generated.metadata["name"] as? String ?? ""
      #expect(generated.status == 201 && generatedName.hasPrefix("sandbox-") && generatedName.count == 13, "\(generated)")
    }
  }

  @Test func optimisticConcurrencyOnUpdateAndPatch() async throws {
    try await F.with(tokens: [F.admin], configure: Self.apiOnly) { f in
      let created = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1"))
      var object = created.json
      var metadata = created.metadata
      metadata.removeValue(forKey: "resourceVersion")
      object["metadata"] = metadata
      let unconditional = try await f.request(
        F.sandboxes + "/s1", method: "PUT", bearer: F.admin.token, body: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
      #expect(unconditional.status == 422, "\(unconditional)")
      #expect(
        unconditional.json["message"] as? String
          == #"Sandbox.agents.x-k8s.io "s1" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"#)

      let patchPath = F.sandboxes + "/s1"
      let annotated = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token, body: #"{"metadata":{"annotations":{"last-activity-time":"2026-01-01T00:00:00Z"}}}"#,
        contentType: "application/merge-patch+json")
      #expect(annotated.status == 200, "\(annotated)")
      #expect(annotated.metadata["generation"] as? Int == 1)
      #expect(Int(annotated.resourceVersion) ?? 0 > Int(created.resourceVersion) ?? 0)

      let stale = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token,
        body: #"{"metadata":{"resourceVersion":"\#(created.resourceVersion)"},"spec":{"operatingMode":"Suspended"}}"#,
        contentType: "application/merge-patch+json")
      #expect(stale.status == 409, "\(stale)")
      #expect(stale.json["reason"] as? String == "Conflict")
      #expect(
        stale.json["message"] as? String
          == #"Operation cannot be fulfilled on sandboxes.agents.x-k8s.io "s1": the object has been modified; please apply your changes to the latest version and try again"#)

      let current = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token,
        body: #"{"metadata":{"resourceVersion":"\#(annotated.resourceVersion)"},"spec":{"operatingMode":"Suspended"}}"#,
        contentType: "application/merge-patch+json")
      #expect(current.status == 200, "\(current)")
      #expect(current.metadata["generation"] as? Int == 2)

      let jsonPatch = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token,
        body: #"[{"op":"test","path":"/spec/operatingMode","value":"Suspended"},{"op":"replace","path":"/spec/operatingMode","value":"Running"}]"#,
        contentType: "application/json-patch+json")
      #expect((jsonPatch.json["spec"] as? [String: Any])?["operatingMode"] as? String == "Running", "\(jsonPatch)")

      let strategic = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token, body: "{}", contentType: "application/strategic-merge-patch+json")
      #expect(strategic.status == 415)

      let invalid = try await f.request(
        patchPath, method: "PATCH", bearer: F.admin.token, body: #"{"spec":{"podTemplate":null}}"#,
        contentType: "application/merge-patch+json")
      #expect(invalid.status == 422)
      let missing = try await f.request(
        F.sandboxes + "/nope", method: "PATCH", bearer: F.admin.token, body: "{}", contentType: "application/merge-patch+json")
      #expect(missing.status == 404)

      let wrongUID = try await f.request(
        patchPath, method: "DELETE", bearer: F.admin.token, body: #"{"preconditions":{"uid":"other"}}"#)
      #expect(wrongUID.status == 409)
      let uid = created.metadata["uid"] as? String ?? ""
      #expect(
        wrongUID.json["message"] as? String
          == #"Operation cannot be fulfilled on sandboxes.agents.x-k8s.io "s1": Precondition failed: UID in precondition: other, UID in object meta: \#(uid)"#)
      let staleDelete = try await f.request(
        patchPath, method: "DELETE", bearer: F.admin.token,
        body: #"{"preconditions":{"uid":"\#(uid)","resourceVersion":"\#(created.resourceVersion)"}}"#)
      #expect(staleDelete.status == 409)
      #expect((staleDelete.json["message"] as? String)?.contains("Precondition failed: ResourceVersion in precondition: \(created.resourceVersion)") == true)
      let deleted = try await f.request(
        patchPath, method: "DELETE", bearer: F.admin.token,
        body: #"{"preconditions":{"uid":"\#(uid)","resourceVersion":"\#(jsonPatch.resourceVersion)"}}"#)
      #expect(deleted.status == 200, "\(deleted)")
    }
  }

  @Test func servedVersionsAreConfigurableAndConvert() async throws {
    let alpha = "/apis/agents.x-k8s.io/v1alpha1/namespaces/team-a/sandboxes"
    try await F.with(tokens: [F.admin], configure: Self.apiOnly) { f in
      let notServed = try await f.request(alpha, method: "GET", bearer: F.admin.token)
      #expect(notServed.status == 404, "agent-sandbox v1.0 serves v1beta1 only: \(notServed)")
    }
    try await F.with(tokens: [F.admin], configure: {
      Self.apiOnly(&$0)
      $0.sandboxes.servedVersions = [.v1alpha1, .v1beta1]
    }) { f in
      let created = try await f.request(
        alpha, bearer: F.admin.token, body: F.sandbox("old", version: "v1alpha1", extraSpec: ["replicas": 0]))
      #expect(created.status == 201, "\(created)")
      #expect(created.header("Warning")?.contains("agents.x-k8s.io/v1alpha1 Sandbox is deprecated") == true)
      #expect((created.json["spec"] as? [String: Any])?["replicas"] as? Int == 0)
      let beta = try await f.request(F.sandboxes + "/old", method: "GET", bearer: F.admin.token)
      #expect((beta.json["spec"] as? [String: Any])?["operatingMode"] as? String == "Suspended", "\(beta)")
      #expect(beta.resourceVersion == created.resourceVersion)
      let tooMany = try await f.request(
        alpha, bearer: F.admin.token, body: F.sandbox("two", version: "v1alpha1", extraSpec: ["replicas": 2]))
      #expect(
        tooMany.json["message"] as? String
          == #"Sandbox.agents.x-k8s.io "two" is invalid: spec.replicas: Invalid value: 2: spec.replicas in body should be less than or equal to 1"#)
    }
  }

  @Test func pagingWithContinueTokensThatExpire() async throws {
    try await F.with(tokens: [F.admin], configure: Self.apiOnly) { f in
      for index in 1...5 { _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s\(index)")) }
      var names: [String] = []
      var path = F.sandboxes + "?limit=2"
      var first: CurlResult?
      for _ in 0..<5 {
        let page = try await f.request(path, method: "GET", bearer: F.admin.token)
        first = first ?? page
        names += page.names
        guard let token = page.metadata["continue"] as? String else { break }
        // A write between pages: the list stays the snapshot of its first page.
        _ = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox("s\(names.count)x"))
        path = F.sandboxes + "?limit=2&continue=\(token)"
      }
      #expect(names == ["s1", "s2", "s3", "s4", "s5"])
      #expect(first?.metadata["remainingItemCount"] as? Int == 3)
      let token = try #require(first?.metadata["continue"] as? String)
      f.emulator.compact()
      let expired = try await f.request(F.sandboxes + "?limit=2&continue=\(token)", method: "GET", bearer: F.admin.token)
      #expect(expired.status == 410, "\(expired)")
      #expect(expired.json["reason"] as? String == "Expired")
      let bad = try await f.request(F.sandboxes + "?continue=garbage", method: "GET", bearer: F.admin.token)
      #expect(bad.status == 400)
    }
  }

  @Test func perIdentityRBACAndTheRequestLog() async throws {
    let caller = F.account("agent", namespace: "team-a", verbs: ["create", "delete", "get", "list"])
    try await F.with(tokens: [caller, F.admin], configure: Self.apiOnly) { f in
      let created = try await f.request(F.sandboxes, bearer: caller.token, body: F.sandbox("s1"))
      #expect(created.status == 201)
      let otherNamespace = try await f.request(
        "/apis/agents.x-k8s.io/v1beta1/namespaces/team-b/sandboxes", bearer: caller.token, body: F.sandbox("s1"))
      #expect(otherNamespace.status == 403)
      #expect(
        otherNamespace.json["message"] as? String
          == #"sandboxes.agents.x-k8s.io is forbidden: User "system:serviceaccount:team-a:agent" cannot create resource "sandboxes" in API group "agents.x-k8s.io" in the namespace "team-b""#)
      let watch = try await f.request(F.sandboxes + "?watch=true&timeoutSeconds=1", method: "GET", bearer: caller.token)
      #expect(watch.status == 403)
      #expect((watch.json["message"] as? String)?.contains(#"cannot watch resource "sandboxes""#) == true)
      let patch = try await f.request(
        F.sandboxes + "/s1", method: "PATCH", bearer: caller.token, body: "{}", contentType: "application/merge-patch+json")
      #expect(patch.status == 403)
      let clusterList = try await f.request("/apis/agents.x-k8s.io/v1beta1/sandboxes", method: "GET", bearer: caller.token)
      #expect(
        clusterList.json["message"] as? String
          == #"sandboxes.agents.x-k8s.io is forbidden: User "system:serviceaccount:team-a:agent" cannot list resource "sandboxes" in API group "agents.x-k8s.io" at the cluster scope"#)
      let pods = try await f.request("/api/v1/namespaces/team-a/pods/s1", method: "GET", bearer: caller.token)
      #expect(pods.status == 404)
      #expect(pods.json["message"] as? String == #"pods "s1" not found"#)
      _ = try await f.request(F.sandboxes + "?watch=1&timeoutSeconds=1", method: "GET", bearer: F.admin.token)

      let log = f.emulator.requests(by: caller.user.username)
      #expect(log.count == 6)
      #expect(
        log.map { "\($0.attributes?.verb ?? "-") \($0.attributes?.namespace ?? "*") \($0.status ?? 0)" } == [
          "create team-a 201", "create team-b 403", "watch team-a 403", "patch team-a 403", "list * 403", "get team-a 404",
        ])
      #expect(f.emulator.requests(by: F.admin.user.username).map(\.route) == [.sandboxesWatch])
      #expect(f.emulator.count(of: .sandboxesWatch) == 2)
      let printed = "\(f.emulator.recentRequests)"
      #expect(!printed.contains(caller.token) && !printed.contains(F.admin.token))
    }
  }
}
