import AgentCubeCore
import Glibc
import Logging

extension LocalBackend {
  /// Starts a sandbox for `spec` and returns the session once the sandbox serves.
  ///
  /// - Throws: `RPCError` `INVALID_ARGUMENT` for an unknown image (the message lists the known
  ///   ones); `FAILED_PRECONDITION` when the image cannot run here or the sandbox exits while
  ///   starting (with the end of its output); `DEADLINE_EXCEEDED` when it does not serve by
  ///   `deadline` or ``Configuration/startTimeout``; `RESOURCE_EXHAUSTED` when the address pool is
  ///   used up. The sandbox and its files are removed on every failure.
  public func createSession(_ spec: SessionSpec, caller: Caller, deadline: ContinuousClock.Instant) async throws
    -> Session
  {
    guard !isShutDown else { throw RPCError.unavailable("the local backend is shutting down") }
    guard let image = configuration.images[spec.image] else {
      let known = configuration.images.keys.sorted().joined(separator: ", ")
      throw RPCError.invalidArgument("unknown image '\(spec.image)'; known images: \(known)")
    }
    guard SandboxLayout.isValidID(spec.id) else { throw RPCError.invalidArgument("invalid session id") }
    guard !spec.sshPublicKey.contains(where: { $0 == "\n" || $0 == "\r" }) else {
      throw RPCError.invalidArgument("the SSH public key must be a single line")
    }
    guard entries[spec.id] == nil else { throw RPCError(code: .alreadyExists, message: "session \(spec.id) exists") }
    if image.kind == .openSSH, let openSSHUnavailable { throw RPCError.failedPrecondition(openSSHUnavailable) }
    let taken = Set(entries.values.map(\.session.address))
    let lockDirectory = configuration.addressLockDirectory
    guard
      let (address, addressLock) = pool.allocate(
        port: image.port, excluding: taken, claim: { try? FileLock.acquire("\(lockDirectory)/\($0).lock") ?? nil })
    else {
      throw RPCError.resourceExhausted("no free address left in \(configuration.addressPool)")
    }

    let session = Session(
      id: spec.id, name: spec.name, namespace: spec.namespace, creator: spec.creator, image: spec.image,
      status: .pending, createdAtMs: spec.createdAtMs, expiresAtMs: spec.expiresAtMs,
      lastActivityAtMs: wallClockMilliseconds(), ttlSeconds: spec.ttlSeconds,
      idleTimeoutSeconds: spec.idleTimeoutSeconds,
      metadata: spec.metadata, sshUser: configuration.sshUser, sshPort: UInt32(image.port), address: address)
    entries[spec.id] = Entry(
      record: SessionRecord(session: session, process: nil, isolated: isolation.available), phase: .starting,
      isChild: true, persistedActivityAtMs: session.lastActivityAtMs, addressLock: addressLock)
    let layout = SandboxLayout(stateDirectory: configuration.stateDirectory, id: spec.id)
    var logger = self.logger
    logger[metadataKey: "session.id"] = "\(spec.id)"
    let started = ContinuousClock.now

    do {
      let process = try await startSandbox(spec, image: image, address: address, layout: layout)
      try await waitUntilServing(
        process, image: image, address: address, layout: layout,
        deadline: min(deadline, started + configuration.startTimeout), logger: logger)
      guard entries[spec.id]?.phase == .starting else { throw CancellationError() }
      entries[spec.id]?.phase = .running
      entries[spec.id]?.record.session.status = .running
      entries[spec.id]?.record.session.lastActivityAtMs = wallClockMilliseconds()
      let record = entries[spec.id]!.record  // present: checked just above, no await since
      try store.save(record)
      entries[spec.id]?.persistedActivityAtMs = record.session.lastActivityAtMs
      logger.info(
        "session started",
        metadata: [
          "session.image": "\(spec.image)", "session.address": "\(address)", "sandbox.pid": "\(process.pid)",
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

  /// Prepares the session's files and spawns its sandbox; the record is on disk before the
  /// sandbox exists, and again with its identity right after.
  private func startSandbox(
    _ spec: SessionSpec, image: LocalImage, address: String, layout: SandboxLayout
  ) async throws -> ProcessIdentity {
    try FileSystem.makeDirectory(layout.root, mode: 0o700)
    try FileSystem.makeDirectory(layout.workspace, mode: 0o755)
    try store.save(entries[spec.id]!.record)  // present: inserted by createSession before calling

    let environment = sandboxEnvironment(spec, image: image, address: address, layout: layout)
    let program: SandboxLauncher.Program
    switch image.kind {
    case .openSSH:
      // Checked by createSession: the OpenSSH image is refused when sshAccount is nil.
      let account = sshAccount!
      if account.uid != geteuid() {
        guard chown(layout.workspace, account.uid, account.gid) == 0 else {
          throw FileSystem.error("cannot hand the workspace to \(account.name):", layout.workspace)
        }
      }
      try await openSSH.prepare(
        layout: layout, spec: spec, address: address, port: image.port, user: account,
        inner: launcher.bubblewrap(layout: layout))
      program = .init(
        arguments: openSSH.arguments(layout: layout), environment: environment, privileged: true,
        readOnlyBinds: [layout.sshd, layout.bin], replacedFiles: ["/etc/shadow": openSSH.shadow(layout)])
    case .command(let arguments, _):
      let expanded = arguments.map { argument in
        environment.reduce(argument) { $0.replacing("${\($1.key)}", with: $1.value) }
      }
      program = .init(arguments: expanded, environment: environment, privileged: false, readOnlyBinds: [])
    }
    guard entries[spec.id]?.phase == .starting else { throw CancellationError() }
    let process = try launcher.launch(program, layout: layout, hostname: spec.name)
    entries[spec.id]?.record.process = process
    try store.save(entries[spec.id]!.record)  // present: no await since the check above
    return process
  }

  private func sandboxEnvironment(
    _ spec: SessionSpec, image: LocalImage, address: String, layout: SandboxLayout
  ) -> [String: String] {
    var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"]
    if case .command(_, let extra) = image.kind { environment.merge(extra) { $1 } }
    environment.merge([
      "HOME": layout.workspace, "AGENTCUBE_WORKSPACE": layout.workspace, "AGENTCUBE_SESSION_ID": spec.id,
      "AGENTCUBE_SESSION_NAME": spec.name, "AGENTCUBE_ADDRESS": address, "AGENTCUBE_PORT": "\(image.port)",
    ]) { $1 }
    if !spec.sshPublicKey.isEmpty { environment["SSH_PUBLIC_KEY"] = spec.sshPublicKey }
    return environment
  }

  /// Polls the sandbox's address until it serves, it exits, or `deadline` passes.
  private func waitUntilServing(
    _ process: ProcessIdentity, image: LocalImage, address: String, layout: SandboxLayout,
    deadline: ContinuousClock.Instant, logger: Logger
  ) async throws {
    var pause = Duration.milliseconds(2)
    while true {
      if let status = ChildProcess.reap(process.pid) {
        let tail = OutputTail.read(layout.output)
        throw RPCError.failedPrecondition(
          "the sandbox exited while starting (\(status))" + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
      }
      let remaining = deadline - ContinuousClock.now
      if remaining > .zero {
        let outcome = await ReadinessProbe.check(
          address: address, port: image.port, readiness: image.readiness, timeout: min(remaining, .seconds(2)))
        if outcome == .ready { return }
      }
      try Task.checkCancellation()
      guard ContinuousClock.now < deadline else {
        let tail = OutputTail.read(layout.output)
        throw RPCError(
          code: .deadlineExceeded,
          message: "the sandbox did not serve on \(address):\(image.port) in time"
            + (tail.isEmpty ? "" : "; its output ended with:\n\(tail)"))
      }
      try await Task.sleep(for: min(pause, deadline - ContinuousClock.now))
      pause = min(pause * 2, .milliseconds(100))
    }
  }
}
