import AgentCubeCore
import AgentCubeKubernetes
import Foundation
import Testing

@testable import AgentCubeKubernetesBackend

/// A session written into a Sandbox object and read back; the creator rule; states from conditions.
@Suite struct SandboxRecordTests {
  static let spec = SessionSpec(
    id: "0f1e2d3c-4b5a-4978-8877-665544332211", name: "sandbox-0f1e2d3c", namespace: "team-a",
    creator: "system:serviceaccount:team-a:alice", image: "registry.example/agent:1", ttlSeconds: 600,
    idleTimeoutSeconds: 120, sshPublicKey: "ssh-ed25519 AAAAC3Nza me@host",
    metadata: [KeyValue(key: "z key", value: "1"), KeyValue(key: "a/b", value: "two = 2")], createdAtMs: 1_800_000_000_123,
    sshUser: "agent")

  func object(version: SandboxAPIVersion = .v1beta1) -> SandboxObject {
    var configuration = KubernetesBackend.Configuration()
    configuration.version = version
    configuration.runtimeClassName = "gvisor"
    return SandboxRecord.object(for: Self.spec, configuration: configuration)
  }

  func ready(_ object: SandboxObject, ips: [String] = ["fd00::5", "10.1.2.3"]) -> SandboxObject {
    var object = object
    object.status = SandboxStatus(conditions: [Condition(type: "Ready", status: "True", reason: "DependenciesReady")], podIPs: ips)
    return object
  }

  @Test func theObjectCarriesTheSessionAndEndsItselfAtItsExpiry() throws {
    let object = object()
    #expect(object.metadata.labels == ["sandbox-id": Self.spec.id, "sandbox-name": Self.spec.name, "managed-by": "agentcube"])
    #expect(object.spec.operatingMode == "Running" && object.spec.replicas == nil)
    #expect(object.spec.shutdownPolicy == "Delete")
    // 1_800_000_600_123 ms rounded up to the second: never before the session's own end.
    #expect(object.spec.shutdownTime == "2027-01-15T08:10:01Z")
    let container = try #require(object.spec.podTemplate.spec.containers.first)
    #expect(container.name == "sandbox" && container.image == Self.spec.image)
    #expect(container.env?.contains(.init(name: "SSH_PUBLIC_KEY", value: Self.spec.sshPublicKey)) == true)
    #expect(container.env?.contains(.init(name: "SSH_USER", value: "agent")) == true)
    #expect(object.spec.podTemplate.spec.runtimeClassName == "gvisor")
    #expect(self.object(version: .v1alpha1).spec.replicas == 1 && self.object(version: .v1alpha1).spec.operatingMode == nil)
  }

  @Test func readBackItIsTheSameSession() throws {
    let session = try #require(SandboxRecord.session(from: ready(object()), sshPort: 22))
    #expect(session.id == Self.spec.id && session.name == Self.spec.name && session.namespace == "team-a")
    #expect(session.creator == Self.spec.creator && session.image == Self.spec.image && session.sshUser == "agent")
    #expect(session.createdAtMs == Self.spec.createdAtMs && session.expiresAtMs == Self.spec.expiresAtMs)
    #expect(session.ttlSeconds == 600 && session.idleTimeoutSeconds == 120)
    #expect(session.metadata == Self.spec.metadata, "keys of any shape, in order")
    #expect(session.status == .running && session.address == "10.1.2.3", "IPv4 first")
    #expect(session.sshPort == 22)
  }

  @Test func theCreatorRuleFailsClosed() {
    var object = object()
    #expect(SandboxRecord.creator(of: object) == Self.spec.creator)
    object.metadata.annotations?[SandboxRecord.Annotation.creator] = nil
    #expect(SandboxRecord.creator(of: object) == "", "missing")
    object.metadata.annotations?[SandboxRecord.Annotation.creator] = "alice"
    #expect(SandboxRecord.creator(of: object) == "", "not a service account")
    object.metadata.annotations?[SandboxRecord.Annotation.creator] = "system:serviceaccount:team-b:bob"
    #expect(SandboxRecord.creator(of: object) == "", "another namespace's account cannot be named (a lure)")
  }

  @Test func statesFromConditions() {
    let starting = object()
    #expect(SandboxRecord.state(of: starting).0 == .pending)
    #expect(SandboxRecord.state(of: ready(starting, ips: [])).0 == .running, "older controllers report no podIPs")
    #expect(SandboxRecord.session(from: ready(starting, ips: []), sshPort: 22)?.address == "", "the pod has it")
    #expect(SandboxRecord.state(of: ready(starting)).0 == .running)
    var finished = starting
    finished.status = SandboxStatus(conditions: [Condition(type: "Finished", status: "True", reason: "PodFailed", message: "exit 1")])
    #expect(SandboxRecord.terminalFailure(of: finished) == "Finished=True (PodFailed): exit 1")
    #expect(SandboxRecord.state(of: finished).0 == .failed)
    for reason in ["SandboxExpired", "SandboxSuspended"] {
      var ended = starting
      ended.status = SandboxStatus(conditions: [Condition(type: "Ready", status: "False", reason: reason)])
      #expect(SandboxRecord.terminalFailure(of: ended) != nil, "\(reason)")
    }
    var waiting = starting
    waiting.status = SandboxStatus(conditions: [Condition(type: "Ready", status: "False", reason: "DependenciesNotReady")])
    #expect(SandboxRecord.terminalFailure(of: waiting) == nil, "still starting")
    var deleting = ready(starting)
    deleting.metadata.deletionTimestamp = "2027-01-15T08:00:00Z"
    #expect(SandboxRecord.state(of: deleting).0 == .terminating)
  }

  @Test func objectsThatAreNotSessionsAreIgnored() {
    var object = object()
    object.metadata.labels?["sandbox-id"] = nil
    #expect(SandboxRecord.session(from: object, sshPort: 22) == nil)
  }
}
