import AgentCubeTestSupport
import Foundation
import KubernetesEmulator
import Testing

/// The emulated controller: pods, a real sshd per sandbox reached with the OpenSSH client,
/// terminal images, suspension and shutdownTime.
@Suite("KubernetesEmulator: sandbox controller")
struct SandboxControllerTests {
  typealias F = EmulatorFixture

  private static func ready(_ result: CurlResult) -> [String: Any]? {
    let conditions = (result.json["status"] as? [String: Any])?["conditions"] as? [[String: Any]] ?? []
    return conditions.first { $0["type"] as? String == "Ready" }
  }

  private static func condition(_ f: EmulatorFixture, _ name: String, _ type: String = "Ready") -> [String: Any]? {
    let conditions = f.emulator.sandbox(namespace: "team-a", name: name)?["status"]["conditions"].array ?? []
    guard let found = conditions.first(where: { $0["type"].string == type }) else { return nil }
    return try? JSONSerialization.jsonObject(with: Data(found.bytes)) as? [String: Any]
  }

  @Test func sandboxGetsARealSSHDOnItsOwnLoopbackAddress() async throws {
    try await F.with(tokens: [F.admin]) { f in
      let key = f.scratch.file("id_ed25519")
      let keygen = try await TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", key])
      #expect(keygen.exitCode == 0, "\(keygen)")
      let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
      let clock = ContinuousClock()
      let started = clock.now
      let created = try await f.request(
        F.sandboxes, bearer: F.admin.token, body: F.sandbox("s1", image: "debian:12", sshKey: publicKey))
      #expect(created.status == 201, "\(created)")
      try await eventually("Ready=True") {
        f.emulator.sandbox(namespace: "team-a", name: "s1")?["status"]["conditions"].array?.contains {
          $0["type"] == "Ready" && $0["status"] == "True"
        } ?? false
      }
      print("sandbox ready (sshd listening) after \(clock.now - started)")
      let sandbox = try await f.request(F.sandboxes + "/s1", method: "GET", bearer: F.admin.token)
      let ready = try #require(Self.ready(sandbox))
      #expect(ready["reason"] as? String == "DependenciesReady" && ready["message"] as? String == "Pod is Ready")
      #expect(ready["observedGeneration"] as? Int == 1)
      let status = try #require(sandbox.json["status"] as? [String: Any])
      let podIPs = try #require(status["podIPs"] as? [String])
      let address = try #require(podIPs.first)
      #expect(address.hasPrefix("127.") && !address.hasPrefix("127.0."), "\(address)")
      #expect((status["selector"] as? String)?.hasPrefix("agents.x-k8s.io/sandbox-name-hash=") == true)
      #expect(status["nodeName"] as? String == "emulated-node")

      let pod = try await f.request("/api/v1/namespaces/team-a/pods/s1", method: "GET", bearer: F.admin.token)
      let podStatus = try #require(pod.json["status"] as? [String: Any])
      #expect(podStatus["phase"] as? String == "Running" && podStatus["podIP"] as? String == address, "\(pod)")
      let owner = ((pod.metadata["ownerReferences"] as? [[String: Any]])?.first) ?? [:]
      #expect(owner["kind"] as? String == "Sandbox" && owner["uid"] as? String == created.metadata["uid"] as? String)
      let pods = try await f.request("/api/v1/namespaces/team-a/pods", method: "GET", bearer: F.admin.token)
      #expect(pods.names == ["s1"])

      // The real OpenSSH client, the host key pinned to the one the emulator reports.
      let endpoint = try #require(f.emulator.controller.endpoint(namespace: "team-a", name: "s1"))
      #expect(endpoint.address == address && endpoint.port == 22)
      let knownHosts = f.scratch.file("known_hosts")
      try "\(address) \(endpoint.hostPublicKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
      let user = ProcessInfo.processInfo.environment["USER"] ?? "root"
      let ssh = try await TestProcess.run(
        "/usr/bin/ssh",
        [
          "-F", "/dev/null", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o",
          "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10", "-p", "22",
          "\(user)@\(address)", "echo", "hello-from-the-pod",
        ], timeout: .seconds(30))
      #expect(ssh.exitCode == 0 && ssh.stdout.contains("hello-from-the-pod"), "\(ssh)")
      // Another key is refused.
      let stranger = f.scratch.file("stranger")
      _ = try await TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", stranger])
      let refused = try await TestProcess.run(
        "/usr/bin/ssh",
        [
          "-F", "/dev/null", "-i", stranger, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o",
          "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes", "\(user)@\(address)", "true",
        ], timeout: .seconds(30))
      #expect(refused.exitCode == 255 && refused.stderr.contains("Permission denied"), "\(refused)")

      #expect(f.emulator.controller.runningDaemons == 1)
      let deleted = try await f.request(F.sandboxes + "/s1", method: "DELETE", bearer: F.admin.token)
      #expect(deleted.status == 200)
      try await eventually("the pod and its sshd to go") {
        f.emulator.pod(namespace: "team-a", name: "s1") == nil && f.emulator.controller.runningDaemons == 0
      }
      let closed = try await TestProcess.run(
        "/usr/bin/ssh",
        ["-F", "/dev/null", "-i", key, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "\(user)@\(address)", "true"],
        timeout: .seconds(30))
      #expect(closed.exitCode == 255 && closed.stderr.contains("refused"), "\(closed)")
    }
  }

  @Test func markedImagesSuspensionAndOldControllers() async throws {
    try await F.with(tokens: [F.admin], configure: { $0.sandboxes.controller.setsPodIPs = false }) { f in
      for (name, image) in [("failing", "registry/fail:1"), ("done", "succeed:1"), ("stuck", "never-ready:1")] {
        let created = try await f.request(F.sandboxes, bearer: F.admin.token, body: F.sandbox(name, image: image))
        #expect(created.status == 201)
      }
      let suspended = try await f.request(
        F.sandboxes, bearer: F.admin.token, body: F.sandbox("paused", extraSpec: ["operatingMode": "Suspended"]))
      #expect(suspended.status == 201)
      await f.emulator.controller.settle()
      #expect(Self.condition(f, "failing", "Finished")?["reason"] as? String == "PodFailed")
      #expect(Self.condition(f, "failing")?["reason"] as? String == "PodFailed")
      #expect(Self.condition(f, "failing")?["status"] as? String == "False")
      #expect(Self.condition(f, "done", "Finished")?["reason"] as? String == "PodSucceeded")
      #expect(Self.condition(f, "stuck")?["reason"] as? String == "DependenciesNotReady")
      #expect(Self.condition(f, "stuck")?["message"] as? String == "Pod is Running but not Ready")
      #expect(Self.condition(f, "paused")?["reason"] as? String == "SandboxSuspended")
      #expect(f.emulator.pod(namespace: "team-a", name: "paused") == nil)
      #expect(f.emulator.pod(namespace: "team-a", name: "failing")?["status"]["phase"] == "Failed")
      // An older controller: no podIPs on the sandbox, the pod has the address.
      #expect(f.emulator.sandbox(namespace: "team-a", name: "stuck")?["status"]["podIPs"] == .null)
      #expect(f.emulator.pod(namespace: "team-a", name: "stuck")?["status"]["podIP"].string?.hasPrefix("127.") == true)
      #expect(f.emulator.controller.runningDaemons == 0)
    }
  }

  @Test func shutdownTimeEndsTheSandboxOnTheEmulatorsClock() async throws {
    let clock = EmulatorClock(manual: Date(timeIntervalSince1970: 1_800_000_000))
    try await F.with(tokens: [F.admin], configure: {
      $0.clock = clock
      $0.sandboxes.controller.expiryCheckInterval = nil
    }) { f in
      let at = "2027-01-15T09:00:00Z"  // 1_800_000_000 + 3600
      for (name, policy) in [("deleted", "Delete"), ("retained", "Retain")] {
        let created = try await f.request(
          F.sandboxes, bearer: F.admin.token,
          body: F.sandbox(name, extraSpec: ["shutdownTime": at, "shutdownPolicy": policy]))
        #expect(created.status == 201, "\(created)")
        #expect(created.metadata["creationTimestamp"] as? String == "2027-01-15T08:00:00Z")
      }
      await f.emulator.controller.tick()
      #expect(f.emulator.pod(namespace: "team-a", name: "deleted") != nil)
      clock.advance(by: .seconds(3600))
      await f.emulator.controller.tick()
      #expect(f.emulator.sandbox(namespace: "team-a", name: "deleted") == nil)
      #expect(f.emulator.pod(namespace: "team-a", name: "deleted") == nil)
      #expect(Self.condition(f, "retained")?["reason"] as? String == "SandboxExpired")
      #expect(Self.condition(f, "retained")?["message"] as? String == "Sandbox has expired")
      #expect(f.emulator.pod(namespace: "team-a", name: "retained") == nil)
    }
  }

  @Test func aControllerThatDoesNotActOnShutdownTimeLeavesTheSandboxRunning() async throws {
    let clock = EmulatorClock(manual: Date(timeIntervalSince1970: 1_800_000_000))
    try await F.with(tokens: [F.admin], configure: {
      $0.clock = clock
      $0.sandboxes.controller.actsOnShutdownTime = false
    }) { f in
      let created = try await f.request(
        F.sandboxes, bearer: F.admin.token,
        body: F.sandbox("kept", extraSpec: ["shutdownTime": "2027-01-15T09:00:00Z", "shutdownPolicy": "Delete"]))
      #expect(created.status == 201, "\(created)")
      clock.advance(by: .seconds(7200))
      await f.emulator.controller.tick()
      #expect(f.emulator.sandbox(namespace: "team-a", name: "kept") != nil)
      #expect(f.emulator.pod(namespace: "team-a", name: "kept") != nil)
      #expect(Self.condition(f, "kept")?["reason"] as? String != "SandboxExpired")
    }
  }
}
