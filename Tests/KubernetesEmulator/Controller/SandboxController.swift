import Foundation
import Synchronization

/// The agent-sandbox controller, emulated: for each Sandbox it creates a Pod (named after the
/// sandbox, or by its `agents.x-k8s.io/pod-name` annotation), starts a real sshd for it on the pod's
/// own loopback address, and keeps `status` as the real controller does — `podIPs`, `nodeName`,
/// `selector`, `Ready` (`DependenciesReady` / `DependenciesNotReady` / `SandboxSuspended` /
/// `SandboxExpired` / `PodFailed` / `PodSucceeded`) and `Finished` — with `observedGeneration`.
/// `spec.shutdownTime` ends the sandbox (pod deleted; with `shutdownPolicy: Delete` the Sandbox too).
///
/// Reconciles run one at a time, on every change of a Sandbox, when a pod's sshd comes up or
/// ends, and on ``tick()``.
public final class SandboxController: Sendable {
  /// What a running sandbox's pod looks like from outside.
  public struct PodEndpoint: Sendable, Hashable {
    /// The pod's IP (a loopback address of its own, `127.x.y.z`).
    public var address: String
    public var port: Int
    /// The sshd's host key, `ssh-ed25519 AAAA…` (for a known_hosts line).
    public var hostPublicKey: String
    /// sshd's log file.
    public var log: String
  }

  private enum Runtime: Sendable {
    case starting(id: UUID, task: Task<Void, Never>)
    case ready(SSHDaemon)
    case runningNotReady(address: String)
    case failed(String)
    case succeeded
  }

  private enum Work: Sendable {
    case reconcile(ObjectKey)
    case barrier(CheckedContinuation<Void, Never>)
  }

  private struct State {
    var runtimes: [ObjectKey: Runtime] = [:]
    /// Sandbox key → its pod's key.
    var pods: [ObjectKey: ObjectKey] = [:]
    var addresses: Set<String> = []
    var directory: String?
    var stopped = false

    func configuredDirectory(_ configuration: SandboxControllerConfiguration) -> String? {
      configuration.stateDirectory ?? directory
    }
  }

  static let podNameAnnotation = "agents.x-k8s.io/pod-name"
  static let nameHashLabel = "agents.x-k8s.io/sandbox-name-hash"

  let configuration: SandboxControllerConfiguration
  private let store: ObjectStore
  private let clock: EmulatorClock
  private let state = Mutex(State())
  private let work: AsyncStream<Work>
  private let queue: AsyncStream<Work>.Continuation
  private let tasks = Mutex<[Task<Void, Never>]>([])

  init(configuration: SandboxControllerConfiguration, store: ObjectStore, clock: EmulatorClock) {
    self.configuration = configuration
    self.store = store
    self.clock = clock
    (work, queue) = AsyncStream.makeStream(of: Work.self)
  }

  /// Starts reconciling (cheap: no process starts before a sandbox exists).
  func start() {
    guard configuration.enabled else { return }
    let loop = Task { await self.run() }
    let feed = Task {
      for await key in self.store.changes where key.resource == SandboxSchema.resource {
        self.queue.yield(.reconcile(key))
      }
    }
    var started = [loop, feed]
    if configuration.actsOnShutdownTime, let interval = configuration.expiryCheckInterval {
      started.append(
        Task {
          while (try? await Task.sleep(for: interval)) != nil { self.enqueueExpiring() }
        })
    }
    tasks.withLock { $0 = started }
  }

  /// Stops every sshd, ends reconciling and removes the state directory.
  func stop() async {
    let running = tasks.withLock { tasks in
      defer { tasks = [] }
      return tasks
    }
    let (keys, directory) = state.withLock { state in
      state.stopped = true
      return (Array(state.runtimes.keys), state.configuredDirectory(configuration))
    }
    queue.finish()
    for task in running { task.cancel() }
    for task in running { await task.value }
    for key in keys { await teardown(pod: key, deleteObject: false) }
    if let directory, configuration.stateDirectory == nil { try? FileManager.default.removeItem(atPath: directory) }
  }

  // MARK: Knobs

  /// Looks at every sandbox now (expired `shutdownTime`s against the emulator's clock) and returns
  /// once that is done.
  public func tick() async {
    for key in sandboxKeys() { queue.yield(.reconcile(key)) }
    await settle()
  }

  /// Returns once every reconcile asked for so far has run (an sshd still starting is not waited for).
  public func settle() async {
    guard configuration.enabled else { return }
    await withCheckedContinuation { continuation in
      if case .terminated = queue.yield(.barrier(continuation)) { continuation.resume() }
    }
  }

  /// The endpoint of a sandbox's running sshd, `nil` until it listens.
  public func endpoint(namespace: String, name: String) -> PodEndpoint? {
    let key = ObjectKey(resource: SandboxSchema.resource, namespace: namespace, name: name)
    return state.withLock { state in
      guard let pod = state.pods[key], case .ready(let daemon) = state.runtimes[pod] else { return nil }
      return PodEndpoint(address: daemon.address, port: daemon.port, hostPublicKey: daemon.hostPublicKey, log: daemon.log)
    }
  }

  /// sshd processes running now.
  public var runningDaemons: Int {
    state.withLock { state in
      state.runtimes.values.filter {
        if case .ready(let daemon) = $0 { !daemon.process.hasEnded } else { false }
      }.count
    }
  }

  // MARK: The loop

  private func run() async {
    for await item in work {
      switch item {
      case .barrier(let continuation): continuation.resume()
      case .reconcile(let key): await reconcile(key)
      }
    }
    // Finished: release whoever still waits.
  }

  private func sandboxKeys() -> [ObjectKey] {
    store.list(ObjectFilter(resource: SandboxSchema.resource))?.items.compactMap { object in
      guard let namespace = object["metadata"]["namespace"].string, let name = object["metadata"]["name"].string
      else { return nil }
      return ObjectKey(resource: SandboxSchema.resource, namespace: namespace, name: name)
    } ?? []
  }

  private func enqueueExpiring() {
    let now = clock.now
    for object in store.list(ObjectFilter(resource: SandboxSchema.resource))?.items ?? [] {
      guard let text = object["spec"]["shutdownTime"].string, let time = Validation.date(text), time <= now,
        let namespace = object["metadata"]["namespace"].string, let name = object["metadata"]["name"].string
      else { continue }
      queue.yield(.reconcile(ObjectKey(resource: SandboxSchema.resource, namespace: namespace, name: name)))
    }
  }

  private func reconcile(_ key: ObjectKey) async {
    guard let sandbox = store.get(key) else {
      // Deleted: its pod goes (garbage collection of the owned pod).
      if let pod = state.withLock({ $0.pods.removeValue(forKey: key) }) { await teardown(pod: pod, deleteObject: true) }
      return
    }
    let podName = sandbox["metadata"]["annotations"][Self.podNameAnnotation].string ?? key.name
    let podKey = ResourceType.pods.key(key.namespace, podName)
    state.withLock { $0.pods[key] = podKey }
    let spec = sandbox["spec"]
    let generation = sandbox["metadata"]["generation"]

    if configuration.actsOnShutdownTime, let text = spec["shutdownTime"].string, let time = Validation.date(text),
      clock.now >= time
    {
      writeStatus(key) { status in
        self.setCondition(&status, "Ready", "False", "SandboxExpired", "Sandbox has expired", generation)
        status["podIPs"] = nil
        status["nodeName"] = nil
      }
      await teardown(pod: podKey, deleteObject: true)
      if spec["shutdownPolicy"].string == "Delete" {
        _ = try? store.delete(key)
        state.withLock { _ = $0.pods.removeValue(forKey: key) }
      }
      return
    }
    if spec["operatingMode"].string == "Suspended" {
      await teardown(pod: podKey, deleteObject: true)
      writeStatus(key) { status in
        self.setCondition(&status, "Ready", "False", "SandboxSuspended", "Sandbox is suspended", generation)
        self.removeCondition(&status, "Finished")
        status["podIPs"] = nil
        status["nodeName"] = nil
      }
      return
    }
    ensurePod(podKey, sandboxKey: key, sandbox: sandbox)
    let pod = updatePodStatus(podKey)
    writeStatus(key) { status in self.sandboxStatus(&status, sandbox: sandbox, pod: pod) }
  }

  // MARK: Pods

  private func ensurePod(_ podKey: ObjectKey, sandboxKey: ObjectKey, sandbox: JSONValue) {
    let exists = state.withLock { $0.runtimes[podKey] != nil || $0.stopped }
    guard !exists else { return }
    let template = sandbox["spec"]["podTemplate"]
    var labels = template["metadata"]["labels"]
    labels[Self.nameHashLabel] = .string(Self.nameHash(sandboxKey.name))
    var metadata: JSONValue = [
      "name": .string(podKey.name), "namespace": .string(podKey.namespace), "labels": labels,
      "uid": .string(UUID().uuidString.lowercased()), "creationTimestamp": .string(Validation.timestamp(clock.now)),
      "ownerReferences": [
        [
          "apiVersion": .string(SandboxVersion.v1beta1.apiVersion), "kind": "Sandbox",
          "name": .string(sandboxKey.name), "uid": sandbox["metadata"]["uid"], "controller": true,
          "blockOwnerDeletion": true,
        ]
      ],
    ]
    if !template["metadata"]["annotations"].isNull { metadata["annotations"] = template["metadata"]["annotations"] }
    var podSpec = template["spec"]
    podSpec["nodeName"] = .string(configuration.nodeName)
    let pod: JSONValue = [
      "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": podSpec,
      "status": ["phase": "Pending", "qosClass": "BestEffort"],
    ]
    _ = try? store.update(podKey) { _ in pod }

    let containers = podSpec["containers"].array ?? []
    let image = containers.first?["image"].string ?? ""
    let runtime: Runtime
    if image.contains(configuration.failingImageMarker) {
      runtime = .failed("the image \(image) is marked to fail")
    } else if image.contains(configuration.succeedingImageMarker) {
      runtime = .succeeded
    } else if image.contains(configuration.neverReadyImageMarker) {
      runtime = .runningNotReady(address: allocateAddress() ?? "127.0.0.1")
    } else {
      let keys = containers.flatMap { $0["env"].array ?? [] }
        .filter { $0["name"].string == "SSH_PUBLIC_KEY" }.compactMap { $0["value"].string }
      let id = UUID()
      let task = Task { await self.runDaemon(podKey, sandboxKey: sandboxKey, id: id, authorizedKeys: keys) }
      runtime = .starting(id: id, task: task)
    }
    let kept = state.withLock { state in
      guard !state.stopped, state.runtimes[podKey] == nil else { return false }
      state.runtimes[podKey] = runtime
      return true
    }
    if !kept, case .starting(_, let task) = runtime { task.cancel() }
  }

  /// Starts the pod's sshd (another address when its own turns out taken), then records the
  /// outcome and reconciles the sandbox again.
  private func runDaemon(_ podKey: ObjectKey, sandboxKey: ObjectKey, id: UUID, authorizedKeys: [String]) async {
    var outcome: Runtime = .failed("no free loopback address")
    let directory = stateDirectory() + "/\(podKey.namespace)-\(podKey.name)-\(id.uuidString.prefix(8))"
    for _ in 0..<3 where !Task.isCancelled {
      guard let address = allocateAddress() else { break }
      do {
        let daemon = try await SSHDaemon.start(
          directory: directory, address: address, port: configuration.sshPort,
          authorizedKeys: authorizedKeys.map { $0 + "\n" }.joined(), paths: configuration,
          timeout: configuration.readinessTimeout)
        outcome = .ready(daemon)
        break
      } catch {
        release(address)
        outcome = .failed("\(error)")
        if !"\(error)".contains("Address already in use") && !"\(error)".contains("Cannot bind") { break }
      }
    }
    let kept = state.withLock { state in
      guard case .starting(let current, _) = state.runtimes[podKey], current == id else { return false }
      state.runtimes[podKey] = outcome
      return true
    }
    guard kept else {
      if case .ready(let daemon) = outcome { await stopDaemon(daemon) }
      return
    }
    if case .ready(let daemon) = outcome {
      // The container ends when sshd does: the pod fails and the sandbox with it.
      let process = daemon.process
      Task {
        _ = await process.status()
        let noticed = self.state.withLock { state in
          guard case .ready(let current) = state.runtimes[podKey], current.process === process else { return false }
          state.runtimes[podKey] = .failed("sshd exited: " + current.lastWords)
          return true
        }
        if noticed { self.queue.yield(.reconcile(sandboxKey)) }
      }
    }
    queue.yield(.reconcile(sandboxKey))
  }

  /// The pod's status from its runtime; the pod as stored afterwards.
  private func updatePodStatus(_ podKey: ObjectKey) -> JSONValue? {
    guard let runtime = state.withLock({ $0.runtimes[podKey] }) else { return store.get(podKey) }
    let now = JSONValue.string(Validation.timestamp(clock.now))
    return try? store.update(podKey) { pod in
      guard var pod else { return nil }
      let previous = pod["status"]
      var status: JSONValue = ["qosClass": "BestEffort", "hostIP": "127.0.0.1", "hostIPs": [["ip": "127.0.0.1"]]]
      status["startTime"] = previous["startTime"].isNull ? now : previous["startTime"]
      let name = pod["spec"]["containers"].array?.first?["name"] ?? "sandbox"
      let image = pod["spec"]["containers"].array?.first?["image"] ?? ""
      func conditions(ready: Bool) -> JSONValue {
        let readiness: JSONValue = ready ? "True" : "False"
        return [
          ["type": "PodScheduled", "status": "True"], ["type": "Initialized", "status": "True"],
          ["type": "ContainersReady", "status": readiness], ["type": "Ready", "status": readiness],
        ]
      }
      func container(ready: Bool, state: JSONValue) -> JSONValue {
        [["name": name, "image": image, "ready": .bool(ready), "started": .bool(ready), "restartCount": 0, "state": state]]
      }
      switch runtime {
      case .starting:
        status["phase"] = "Pending"
        status["conditions"] = [["type": "PodScheduled", "status": "True"]]
      case .ready(let daemon):
        status["phase"] = "Running"
        status["conditions"] = conditions(ready: true)
        status["podIP"] = .string(daemon.address)
        status["podIPs"] = [["ip": .string(daemon.address)]]
        status["containerStatuses"] = container(ready: true, state: ["running": ["startedAt": now]])
      case .runningNotReady(let address):
        status["phase"] = "Running"
        status["conditions"] = conditions(ready: false)
        status["podIP"] = .string(address)
        status["podIPs"] = [["ip": .string(address)]]
        status["containerStatuses"] = container(ready: false, state: ["running": ["startedAt": now]])
      case .failed(let message):
        status["phase"] = "Failed"
        status["message"] = .string(message)
        status["conditions"] = conditions(ready: false)
        status["containerStatuses"] = container(
          ready: false, state: ["terminated": ["exitCode": 1, "reason": "Error", "message": .string(message)]])
      case .succeeded:
        status["phase"] = "Succeeded"
        status["conditions"] = conditions(ready: false)
        status["containerStatuses"] = container(ready: false, state: ["terminated": ["exitCode": 0, "reason": "Completed"]])
      }
      // Timestamps of an unchanged state stay as they were.
      if case .object = previous, previous["phase"] == status["phase"] {
        status["containerStatuses"] = previous["containerStatuses"].isNull ? status["containerStatuses"] : previous["containerStatuses"]
      }
      pod["status"] = status
      return pod
    }
  }

  private func teardown(pod podKey: ObjectKey, deleteObject: Bool) async {
    let runtime = state.withLock { $0.runtimes.removeValue(forKey: podKey) }
    switch runtime {
    case .starting(_, let task)?:
      task.cancel()
      await task.value
    case .ready(let daemon)?:
      await stopDaemon(daemon)
    case .runningNotReady(let address)?:
      release(address)
    default: break
    }
    if deleteObject { _ = try? store.delete(podKey) }
  }

  private func stopDaemon(_ daemon: SSHDaemon) async {
    await daemon.stop()
    release(daemon.address)
  }

  // MARK: Sandbox status

  private func sandboxStatus(_ status: inout JSONValue, sandbox: JSONValue, pod: JSONValue?) {
    let generation = sandbox["metadata"]["generation"]
    let name = sandbox["metadata"]["name"].string ?? ""
    let namespace = sandbox["metadata"]["namespace"].string ?? ""
    status["selector"] = .string("\(Self.nameHashLabel)=\(Self.nameHash(name))")
    if sandbox["spec"]["service"].bool == true {
      status["service"] = .string(name)
      status["serviceFQDN"] = .string("\(name).\(namespace).svc.cluster.local")
    }
    guard let pod else {
      status["podIPs"] = nil
      setCondition(&status, "Ready", "False", "DependenciesNotReady", "Pod does not exist", generation)
      return
    }
    let ips = (pod["status"]["podIPs"].array ?? []).compactMap { $0["ip"].string }
    status["podIPs"] = configuration.setsPodIPs && !ips.isEmpty ? .array(ips.map { .string($0) }) : nil
    status["nodeName"] = pod["spec"]["nodeName"]
    let phase = pod["status"]["phase"].string ?? "Pending"
    switch phase {
    case "Succeeded":
      setCondition(&status, "Finished", "True", "PodSucceeded", "Pod completed successfully", generation)
      setCondition(&status, "Ready", "False", "PodSucceeded", "Pod completed successfully", generation)
      return
    case "Failed":
      setCondition(&status, "Finished", "True", "PodFailed", "Pod failed", generation)
      setCondition(&status, "Ready", "False", "PodFailed", "Pod failed", generation)
      return
    default:
      removeCondition(&status, "Finished")
    }
    var message = "Pod exists with phase: \(phase)"
    var ready = false
    if phase == "Running" {
      let podReady = (pod["status"]["conditions"].array ?? []).contains {
        $0["type"].string == "Ready" && $0["status"].string == "True"
      }
      message = podReady ? (ips.isEmpty ? "Pod is Ready but has no podIPs yet" : "Pod is Ready") : "Pod is Running but not Ready"
      ready = podReady && !ips.isEmpty
    }
    if sandbox["spec"]["service"].bool == true { message += "; Service Exists" }
    if ready {
      setCondition(&status, "Ready", "True", "DependenciesReady", message, generation)
    } else {
      setCondition(&status, "Ready", "False", "DependenciesNotReady", message, generation)
    }
  }

  /// `meta.SetStatusCondition`: `lastTransitionTime` moves only when `status` changes.
  private func setCondition(
    _ status: inout JSONValue, _ type: String, _ value: String, _ reason: String, _ message: String,
    _ generation: JSONValue
  ) {
    var conditions = status["conditions"].array ?? []
    var condition: JSONValue = [
      "type": .string(type), "status": .string(value), "reason": .string(reason), "message": .string(message),
      "observedGeneration": generation.isNull ? 1 : generation,
      "lastTransitionTime": .string(Validation.timestamp(clock.now)),
    ]
    if let index = conditions.firstIndex(where: { $0["type"].string == type }) {
      if conditions[index]["status"].string == value { condition["lastTransitionTime"] = conditions[index]["lastTransitionTime"] }
      conditions[index] = condition
    } else {
      conditions.append(condition)
    }
    status["conditions"] = .array(conditions)
  }

  private func removeCondition(_ status: inout JSONValue, _ type: String) {
    guard var conditions = status["conditions"].array else { return }
    conditions.removeAll { $0["type"].string == type }
    status["conditions"] = .array(conditions)
  }

  /// The controller's status write (a merge patch of the status subresource, no precondition).
  private func writeStatus(_ key: ObjectKey, _ change: @escaping (inout JSONValue) -> Void) {
    _ = try? store.update(key) { current in
      guard var sandbox = current else { return nil }
      var status = sandbox["status"].object != nil ? sandbox["status"] : [:]
      change(&status)
      sandbox["status"] = status
      return sandbox
    }
  }

  // MARK: Addresses and files

  /// A loopback address no pod of this emulator holds: `127.a.b.c` with `a` ≥ 1 (away from
  /// 127.0.0.x, where host services bind). Another process holding it (another emulator, by a
  /// 1-in-16-million chance) makes sshd fail to bind, and the pod tries another.
  private func allocateAddress() -> String? {
    for _ in 0..<64 {
      let address = "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
      let taken = state.withLock { !$0.addresses.insert(address).inserted }
      if !taken { return address }
    }
    return nil
  }

  private func release(_ address: String) {
    _ = state.withLock { $0.addresses.remove(address) }
  }

  private func stateDirectory() -> String {
    state.withLock { state in
      if let directory = state.configuredDirectory(configuration) { return directory }
      let template = NSTemporaryDirectory() + "/kube-emu-sshd-XXXXXX"
      var bytes = Array(template.utf8CString)
      let made = bytes.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }  // the buffer is not empty
      let directory = made.map { String(cString: $0) } ?? (NSTemporaryDirectory() + "/kube-emu-sshd-\(UUID().uuidString)")
      state.directory = directory
      return directory
    }
  }

  /// The agent-sandbox controller's `NameHash`: FNV-1a (32 bits) of the name, 8 hex digits.
  static func nameHash(_ name: String) -> String {
    var hash: UInt32 = 2_166_136_261
    for byte in name.utf8 {
      hash ^= UInt32(byte)
      hash = hash &* 16_777_619
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 8 - hex.count) + hex
  }
}
