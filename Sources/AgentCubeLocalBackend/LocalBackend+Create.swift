import AgentCubeCore
import Foundation
import Glibc
import Logging

extension LocalBackend {
  /// Starts a sandbox for `spec` and returns the session once the sandbox serves.
  ///
  /// - Throws: `RPCError` `INVALID_ARGUMENT` for an unknown image (the message lists the known
  ///   ones); `FAILED_PRECONDITION` when sandboxes or the image cannot run here or the sandbox
  ///   exits while starting (with the end of its output); `DEADLINE_EXCEEDED` when it does not
  ///   serve by `deadline` or ``Configuration/startTimeout``; `RESOURCE_EXHAUSTED` when every host
  ///   id range is taken. The sandbox and its files are removed on every failure.
  public func createSession(_ spec: SessionSpec, caller: Caller, deadline: ContinuousClock.Instant) async throws
    -> Session
  {
    guard !isShutDown else { throw RPCError.unavailable("the local backend is shutting down") }
    guard let image = configuration.images[spec.image] else {
      let known = configuration.images.keys.sorted().joined(separator: ", ")
      throw RPCError.invalidArgument("unknown image '\(spec.image)'; known images: \(known)")
    }
    guard SandboxLayout.isValidID(spec.id) else { throw RPCError.invalidArgument("invalid session id") }
    // Written into the sandbox's /etc/passwd: checked here too, whoever built the spec.
    guard SSHUserName.isValid(spec.sshUser) else { throw RPCError.invalidArgument("ssh_user must be \(SSHUserName.rule)") }
    guard !spec.sshPublicKey.contains(where: { $0 == "\n" || $0 == "\r" }) else {
      throw RPCError.invalidArgument("the SSH public key must be a single line")
    }
    guard entries[spec.id] == nil else { throw RPCError(code: .alreadyExists, message: "session \(spec.id) exists") }
    if let unavailable = isolation.unavailable { throw RPCError.failedPrecondition(unavailable) }
    if image.kind == .openSSH, let openSSHUnavailable { throw RPCError.failedPrecondition(openSSHUnavailable) }
    // Held by this server while the sandbox starts, then by the sandbox's init. Rootless: the
    // server's own uid, no range (-1).
    let range: Int
    if isolation.rootless {
      range = -1
    } else {
      guard let claimed = try idRanges.claim(for: .server) else {
        throw RPCError.resourceExhausted("all \(configuration.idRangeCount) sandbox id ranges are in use on this machine")
      }
      range = claimed
    }
    let hostID = range < 0 ? geteuid() : idRanges.hostID(of: range)

    let session = Session(
      id: spec.id, name: spec.name, namespace: spec.namespace, creator: spec.creator, image: spec.image,
      status: .pending, createdAtMs: spec.createdAtMs, expiresAtMs: spec.expiresAtMs,
      lastActivityAtMs: configuration.clock.now(), ttlSeconds: spec.ttlSeconds,
      idleTimeoutSeconds: spec.idleTimeoutSeconds, metadata: spec.metadata,
      sshUser: spec.sshUser, sshPort: UInt32(image.port), address: "")
    entries[spec.id] = Entry(
      record: SessionRecord(
        session: session, process: nil, idRange: range, workspaceImage: isolation.workspaceVolumes != nil),
      phase: .starting, persistedActivityAtMs: session.lastActivityAtMs)
    let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: spec.id)
    var logger = self.logger
    logger[metadataKey: "session.id"] = "\(spec.id)"
    let started = ContinuousClock.now

    do {
      let process = try await startSandbox(spec, image: image, hostID: hostID, layout: layout)
      guard try range < 0 || idRanges.transfer(index: range, from: .server, to: process) else {
        throw RPCError.internal("the sandbox's host id range was taken while it started")
      }
      try await waitUntilServing(
        process, image: image, layout: layout, deadline: min(deadline, started + configuration.startTimeout))
      guard entries[spec.id]?.phase == .starting else { throw CancellationError() }
      entries[spec.id]?.phase = .running
      entries[spec.id]?.record.session.status = .running
      entries[spec.id]?.record.session.lastActivityAtMs = configuration.clock.now()
      let record = entries[spec.id]!.record  // present: checked just above, no await since
      try store.save(record)
      entries[spec.id]?.persistedActivityAtMs = record.session.lastActivityAtMs
      logger.info(
        "session started",
        metadata: [
          "session.image": "\(spec.image)", "sandbox.pid": "\(process.pid)", "sandbox.host_id": "\(hostID)",
          "session.startup": "\(ContinuousClock.now - started)",
        ])
      return entries[spec.id]!.session
    } catch {
      logger.warning("session failed to start", metadata: ["session.image": "\(spec.image)", "error": "\(error)"])
      entries[spec.id]?.phase = .stopping
      // Clean up even when the caller's task is cancelled.
      await Task { await self.terminate(spec.id, reason: "failed to start") }.value
      throw error
    }
  }

  /// Writes the session's OCI bundle and starts it with runc; the record is on disk before the
  /// sandbox exists, and again with its init's identity right after.
  private func startSandbox(_ spec: SessionSpec, image: LocalImage, hostID: UInt32, layout: SandboxLayout)
    async throws -> ProcessIdentity
  {
    guard let runc = isolation.runc else { throw RPCError.failedPrecondition("runc is unavailable") }
    try FileSystem.makeDirectory(layout.root, mode: 0o710)
    guard chown(layout.root, isolation.rootless ? hostID : 0, hostID) == 0 else { throw FileSystem.error("cannot hand to the sandbox:", layout.root) }
    try store.save(entries[spec.id]!.record)  // present: inserted by createSession before calling
    try RootFilesystem.make(at: layout.rootfs, owner: hostID)

    let sshUser = spec.sshUser
    let userID = image.kind == .openSSH && sshUser != "root" ? SandboxAccounts.userID : 0
    try SandboxAccounts.write(to: layout, sshUser: sshUser, owner: hostID)
    try await makeWorkspace(layout, bytes: image.limits.workspaceBytes, owner: hostID + userID)

    var plan = RuntimeSpec.SandboxPlan(
      layout: layout, hostname: spec.name, hostID: hostID, idCount: isolation.rootless ? 1 : idRanges.size,
      limits: image.limits,
      arguments: [], environment: sandboxEnvironment(spec, image: image),
      capabilities: RuntimeSpec.defaultCapabilities, seccomp: isolation.seccomp,
      cgroups: isolation.memoryCgroup != nil, swapAccounting: isolation.swapAccounting, rootless: isolation.rootless)
    if isolation.userModeNetwork != nil {
      try FileSystem.write(Array(UserModeNetwork.resolvConf.utf8), to: layout.etc + "/resolv.conf", mode: 0o644)
      plan.readOnlyBinds.append((layout.etc + "/resolv.conf", "/etc/resolv.conf"))
    }
    switch image.kind {
    case .openSSH:
      let hostKey = try await openSSH.prepare(
        layout: layout, spec: spec, port: image.port, user: sshUser, owner: hostID)
      entries[spec.id]?.record.session.sshHostPublicKey = hostKey
      plan.arguments = openSSH.arguments
      plan.readOnlyBinds.append((layout.ssh, SandboxLayout.sshInside))
      plan.tmpfs = [("/run/sshd", "755")]
    case .command(let arguments, _):
      let environment = plan.environment
      plan.arguments = arguments.map { Self.expand($0, with: environment) }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try FileSystem.write(Array(try encoder.encode(RuntimeSpec.sandbox(plan))), to: layout.config, mode: 0o600)

    guard entries[spec.id]?.phase == .starting else { throw CancellationError() }
    let pid: Int32
    do {
      pid = try await runc.run(id: spec.id, bundle: layout.root, pidFile: layout.pidFile, output: layout.output)
    } catch {
      let tail = OutputTail.read(layout.output)
      throw RPCError.failedPrecondition("\(error)" + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
    }
    guard let process = ProcessIdentity.current(pid: pid) else {
      let tail = OutputTail.read(layout.output)
      throw RPCError.failedPrecondition("the sandbox exited at once" + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
    }
    entries[spec.id]?.record.process = process
    try store.save(entries[spec.id]!.record)  // present: no await since the check above
    if let network = isolation.userModeNetwork {
      let relay = try await network.start(for: process, output: layout.output, timeout: .seconds(10))
      entries[spec.id]?.record.network = relay
      if let record = entries[spec.id]?.record { try store.save(record) }
    }
    return process
  }

  /// The sandbox's volume: a mounted image of its own size when quotas work here (else a plain
  /// directory), holding the workspace (owned by the sandbox) and its output log (not visible inside).
  private func makeWorkspace(_ layout: SandboxLayout, bytes: Int64, owner: UInt32) async throws {
    try FileSystem.makeDirectory(layout.volume, mode: 0o711)
    if let volumes = isolation.workspaceVolumes {
      try await makeTemplate(volumes, bytes: bytes)
      try await BlockingWork.run {
        try volumes.makeImage(at: layout.workspaceImage, bytes: bytes)
        try volumes.mount(image: layout.workspaceImage, at: layout.volume)
      }
    }
    try FileSystem.makeDirectory(layout.workspace, mode: 0o755)
    guard chown(layout.workspace, owner, owner) == 0 else {
      throw FileSystem.error("cannot hand the workspace to the sandbox:", layout.workspace)
    }
  }

  /// Makes the workspace template of `bytes` once; concurrent creates wait for the same mkfs.
  private func makeTemplate(_ volumes: WorkspaceVolumes, bytes: Int64) async throws {
    if let making = templates[bytes] { return try await making.value }
    let making = Task { try await volumes.makeTemplate(bytes: bytes) }
    templates[bytes] = making
    do {
      try await making.value
    } catch {
      templates[bytes] = nil  // the next create tries again
      throw error
    }
  }

  /// `argument` with each `${NAME}` of `variables` replaced by its value, in one pass from left to
  /// right: a value is never expanded again, whatever it holds (an SSH key's comment, say).
  static func expand(_ argument: String, with variables: [String: String]) -> String {
    var result = ""
    var rest = argument[...]
    while let start = rest.range(of: "${") {
      result += rest[..<start.lowerBound]
      guard let end = rest[start.upperBound...].firstIndex(of: "}"),
        let value = variables[String(rest[start.upperBound..<end])]
      else {
        result += "${"
        rest = rest[start.upperBound...]
        continue
      }
      result += value
      rest = rest[rest.index(after: end)...]
    }
    return result + rest
  }

  private func sandboxEnvironment(_ spec: SessionSpec, image: LocalImage) -> [String: String] {
    var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]
    if case .command(_, let extra) = image.kind { environment.merge(extra) { $1 } }
    let workspace = SandboxLayout.workspaceInside
    environment.merge([
      "HOME": workspace, "AGENTCUBE_WORKSPACE": workspace, "AGENTCUBE_SESSION_ID": spec.id,
      "AGENTCUBE_SESSION_NAME": spec.name, "AGENTCUBE_ADDRESS": "127.0.0.1", "AGENTCUBE_PORT": "\(image.port)",
    ]) { $1 }
    if !spec.sshPublicKey.isEmpty { environment["SSH_PUBLIC_KEY"] = spec.sshPublicKey }
    return environment
  }

  /// Polls the sandbox's port from inside its network until it serves, it exits, or `deadline` passes.
  private func waitUntilServing(
    _ process: ProcessIdentity, image: LocalImage, layout: SandboxLayout, deadline: ContinuousClock.Instant
  ) async throws {
    var pause = Duration.milliseconds(1)
    while true {
      if !process.isAlive {
        let status = ChildProcess.reap(process.pid).map { " (\($0))" } ?? ""
        let tail = OutputTail.read(layout.output)
        throw RPCError.failedPrecondition(
          "the sandbox exited while starting\(status)" + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
      }
      let remaining = deadline - ContinuousClock.now
      if remaining > .zero {
        let outcome = await ReadinessProbe.check(
          process: process, port: image.port, readiness: image.readiness, timeout: min(remaining, .seconds(2)),
          rootless: isolation.rootless)
        if outcome == .ready { return }
      }
      try Task.checkCancellation()
      guard ContinuousClock.now < deadline else {
        let tail = OutputTail.read(layout.output)
        throw RPCError(
          code: .deadlineExceeded,
          message: "the sandbox did not serve on port \(image.port) in time"
            + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
      }
      try await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
      pause = min(pause * 2, .milliseconds(4))
    }
  }
}
