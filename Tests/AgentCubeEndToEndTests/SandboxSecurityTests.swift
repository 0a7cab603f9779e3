import AgentCubeTestSupport
import Foundation
import Glibc
import Testing

/// The sandbox as an attacker sees it: an agent logged in over SSH (and SFTP) through a tunnel,
/// running whatever it likes as the sandbox's root, tries to read the host, reach the server and
/// other tenants, escalate, and exhaust resources. Each check runs inside a real runc sandbox of
/// a real `agentcubed`.
@Suite(
  "Sandboxes as a security boundary",
  .enabled(if: EndToEnd.canRunOpenSSH, "needs root, runc and OpenSSH"),
  // One at a time: each loads the machine (fork and memory bombs, 50 sandboxes) on purpose.
  .serialized,
  .timeLimit(.minutes(10))
)
struct SandboxSecurityTests {
  /// `KEY=value` lines of a script's output.
  func values(_ output: String) -> [String: String] {
    var values: [String: String] = [:]
    for line in output.split(separator: "\n") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      values[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return values
  }

  @Test("from a shell and from SFTP: the host is invisible or unreadable, nothing outside the workspace is writable, no privilege to gain")
  func filesystemAndPrivileges() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      let hostKey = "/etc/ssh/ssh_host_ed25519_key"
      try #require(FileManager.default.fileExists(atPath: hostKey), "the host has an sshd host key (0600, root)")
      let script = """
        probe() { if eval "$2" >/dev/null 2>&1; then echo "$1=yes"; else echo "$1=no"; fi; }
        probe fixture 'test -e \(fixture.directory.path)'
        probe state 'test -e \(fixture.stateDirectory)'
        for p in /root /home /var /opt /srv /work /boot /mnt /media; do probe "host$p" "test -e $p"; done
        probe hostkey 'cat \(hostKey)'
        probe write-usr 'touch /usr/agentcube-attack'
        probe write-etc 'touch /etc/agentcube-attack'
        probe write-root 'touch /agentcube-attack'
        probe write-proc-sys 'echo 1 > /proc/sys/kernel/sysrq'
        probe write-workspace 'touch /workspace/ok'
        probe unshare-user 'unshare -U true'
        probe unshare-map-root 'unshare -r true'
        probe mount 'mount -t tmpfs none /tmp'
        probe hostname 'hostname attacker'
        probe mknod 'mknod /workspace/sda b 8 0'
        cp /usr/bin/id /workspace/id && chmod 4755 /workspace/id
        echo "setuid-euid=$(setpriv --reuid=1000 --regid=1000 --clear-groups /workspace/id -u)"
        echo "workspace-options=$(awk '$5 == "/workspace" {print $6}' /proc/self/mountinfo)"
        echo "uidmap=$(head -1 /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
        grep -E '^(Seccomp|NoNewPrivs|CapBnd):' /proc/self/status | tr -d '\\t' | sed 's/:/=/'
        echo "shadow=$(grep -c . /etc/shadow)"
        """
      let run = try await ssh.run(session, script)
      #expect(run.exitCode == 0, "\(run)")
      let found = values(run.stdout)
      for name in ["fixture", "state", "host/root", "host/home", "host/var", "host/opt", "host/srv", "host/work", "host/boot"] {
        #expect(found[name] == "no", "\(name) is visible inside: \(run.stdout)")
      }
      #expect(found["hostkey"] == "no", "the host's 0600 key is readable through the /etc bind")
      for name in ["write-usr", "write-etc", "write-root", "write-proc-sys", "unshare-user", "unshare-map-root", "mount", "hostname", "mknod"] {
        #expect(found[name] == "no", "\(name) succeeded: \(run.stdout)")
      }
      #expect(found["write-workspace"] == "yes", "\(run.stdout)")
      #expect(found["setuid-euid"] == "1000", "a setuid-root file in the workspace raised privileges: \(run.stdout)")
      #expect(found["workspace-options"]?.split(separator: ",").contains("nosuid") == true, "\(run.stdout)")
      #expect(found["workspace-options"]?.split(separator: ",").contains("nodev") == true, "\(run.stdout)")
      let map = found["uidmap"]?.split(separator: " ").compactMap { UInt64($0) } ?? []
      #expect(map.count == 3 && map[0] == 0 && map[1] >= 1_000_000_000 && map[2] == 65_536, "root inside is not an unprivileged host uid: \(run.stdout)")
      #expect(found["Seccomp"] == "2" && found["NoNewPrivs"] == "1", "\(run.stdout)")
      // CAP_SYS_ADMIN (21), CAP_SYS_MODULE (16), CAP_SYS_PTRACE (19), CAP_NET_ADMIN (12), CAP_NET_RAW (13): none.
      let bounding = UInt64(found["CapBnd"] ?? "", radix: 16) ?? .max
      for bit: UInt64 in [12, 13, 16, 19, 21] { #expect(bounding & (1 << bit) == 0, "capability \(bit) in \(run.stdout)") }
      #expect(found["shadow"] == "3", "the sandbox's own shadow file, not the host's: \(run.stdout)")
      #expect(!FileManager.default.fileExists(atPath: "/usr/agentcube-attack"))
      #expect(!FileManager.default.fileExists(atPath: "/etc/agentcube-attack"))

      // SFTP: the same view.
      let local = fixture.directory.file("payload")
      try "payload\n".write(toFile: local, atomically: true, encoding: .utf8)
      let down = fixture.directory.file("stolen")
      for batch in ["get \(hostKey) \(down)\n", "put \(local) /etc/agentcube-sftp\n", "put \(local) /usr/agentcube-sftp\n", "ls \(fixture.stateDirectory)\n"] {
        let sftp = try await ssh.sftp(session, batch: batch)
        #expect(sftp.exitCode != 0, "sftp `\(batch)` succeeded: \(sftp)")
      }
      #expect(!FileManager.default.fileExists(atPath: down) && !FileManager.default.fileExists(atPath: "/etc/agentcube-sftp"))
      let put = try await ssh.sftp(session, batch: "put \(local) /workspace/payload\n")
      #expect(put.exitCode == 0, "\(put)")
    }
  }

  @Test("network: the server's port, the host's loopback, host abstract sockets and other sandboxes are out of reach; binding the server's port inside changes nothing")
  func network() async throws {
    var options = DaemonFixture.Options()
    options.tcp = "127.0.0.1:0"
    try await withDaemon(options) { fixture, daemon in
      let serverPort = try #require(fixture.tcpPort(of: daemon))
      let ssh = try await OpenSSH(fixture: fixture)
      let attacker = try await ssh.createSession()
      let victim = try await ssh.createSession()
      // The victim serves on its loopback; the host listens on its own loopback and an abstract socket.
      let serve = try ssh.start(victim, "exec python3 -m http.server 9000 --bind 127.0.0.1", name: "victim-web")
      defer { kill(serve.pid, SIGKILL) }
      let listener = try HostListener()
      defer { listener.close() }
      let abstractName = "agentcube-test-\(UInt32.random(in: 0...UInt32.max))"
      let abstract = try HostListener(abstractName: abstractName)
      defer { abstract.close() }
      try await eventually("the victim's web server to listen") {
        let check = try await ssh.run(victim, "python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 9000), 1)'")
        return check.exitCode == 0
      }

      let script = """
        import errno, socket
        def tcp(name, host, port):
            s = socket.socket(); s.settimeout(2)
            r = s.connect_ex((host, port)); s.close()
            print(f"{name}={errno.errorcode.get(r, r) if r else 'connected'}")
        tcp("server", "127.0.0.1", \(serverPort))
        tcp("host-listener", "127.0.0.1", \(listener.port))
        tcp("victim", "127.0.0.1", 9000)
        tcp("outside", "10.0.2.2", 22)
        u = socket.socket(socket.AF_UNIX)
        try:
            u.connect("\\0\(abstractName)"); print("abstract=connected")
        except OSError as e:
            print(f"abstract={errno.errorcode[e.errno]}")
        b = socket.socket(); b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        b.bind(("127.0.0.1", \(serverPort))); b.listen(); print("bound-server-port=yes")
        print("interfaces=" + ",".join(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])))
        import time; time.sleep(1)
        """
      let run = try await ssh.run(attacker, "python3 - <<'EOF'\n\(script)\nEOF")
      #expect(run.exitCode == 0, "\(run)")
      let found = values(run.stdout)
      #expect(found["server"] == "ECONNREFUSED", "the server's TCP port from inside: \(run.stdout)")
      #expect(found["host-listener"] == "ECONNREFUSED", "\(run.stdout)")
      #expect(found["victim"] == "ECONNREFUSED", "another sandbox's listener: \(run.stdout)")
      #expect(found["outside"] == "ENETUNREACH", "\(run.stdout)")
      #expect(found["abstract"] == "ECONNREFUSED", "\(run.stdout)")
      #expect(found["bound-server-port"] == "yes" && found["interfaces"] == "lo", "\(run.stdout)")
      #expect(listener.acceptedCount() == 0 && abstract.acceptedCount() == 0, "a host listener was reached")
      // The server still answers on its port, and the victim's own tunnel reaches the victim.
      let health = try await fixture.cli(["health"], server: "127.0.0.1:\(serverPort)", token: .none)
      #expect(health.exitCode == 0, "\(health)")
      let page = await fixture.tunnelExchange(sessionID: victim.id, port: 9000, message: "GET / HTTP/1.0\r\n\r\n")
      #expect(page?.hasPrefix("HTTP/1.0 200") == true, "\(page ?? "nil")")
    }
  }

  @Test(
    "--sandbox-network egress: a NAT interface and a default route, still no way to the host's loopback; the relay ends with the sandbox",
    .enabled(if: access("/usr/bin/slirp4netns", X_OK) == 0, "needs slirp4netns"))
  func egress() async throws {
    var options = DaemonFixture.Options()
    options.extraArguments = ["--sandbox-network", "egress"]
    try await withDaemon(options) { fixture, daemon in
      #expect(daemon.stderr.contains("outbound connections through slirp4netns"), "\(daemon.stderr)")
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      let listener = try HostListener()
      defer { listener.close() }
      let script = """
        import errno, socket
        print("interfaces=" + ",".join(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])))
        routes = [l.split() for l in open("/proc/net/route").readlines()[1:]]
        print("default=" + ",".join(r[2] for r in routes if r[1] == "00000000"))
        print("resolver=" + open("/etc/resolv.conf").read().strip())
        for name, host in [("gateway", "10.0.2.2"), ("loopback", "127.0.0.1")]:
            s = socket.socket(); s.settimeout(3)
            r = s.connect_ex((host, \(listener.port)))
            print(f"{name}={errno.errorcode.get(r, r) if r else 'connected'}")
        """
      let run = try await ssh.run(session, "python3 - <<'EOF'\n\(script)\nEOF")
      #expect(run.exitCode == 0, "\(run)")
      let found = values(run.stdout)
      #expect(found["interfaces"] == "lo,tap0", "\(run.stdout)")
      #expect(found["default"] == "0202000A", "a default route via 10.0.2.2: \(run.stdout)")
      #expect(found["resolver"] == "nameserver 10.0.2.3", "\(run.stdout)")
      #expect(found["gateway"] != "connected" && found["loopback"] == "ECONNREFUSED", "\(run.stdout)")
      #expect(listener.acceptedCount() == 0, "the host's loopback was reached through the NAT")
      let initPID = try #require(sandboxInitPID(of: session.id, in: fixture))
      let relays = { relayProcesses(forInit: initPID) }
      #expect(relays().count == 1, "one slirp4netns for the sandbox")
      let delete = try await fixture.cli(["session", "delete", session.id])
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(relays().isEmpty, "slirp4netns outlived its sandbox")
    }
  }

  @Test("limits: memory over the limit is killed and reported, processes and workspace and tmpfs are bounded; others are unaffected")
  func limits() async throws {
    try await withDaemon { fixture, _ in
      let ssh = try await OpenSSH(fixture: fixture)
      let bystander = try await ssh.createSession()
      let small = try await ssh.createSession(image: DaemonFixture.smallImage)
      let limits = DaemonFixture.smallLimits

      let memory = try await ssh.run(small, "python3 -c 'b = bytearray(\(limits.memory * 2)); print(len(b))'")
      #expect(memory.exitCode != 0 && memory.stdout.isEmpty, "allocating twice the limit worked: \(memory)")
      try await eventually("the OOM kill in the session's status") {
        let got = try await fixture.cli(["session", "get", small.id, "--json"]).succeeded(as: CLISession.self)
        return got.statusMessage.contains("out of memory") && got.status == "running"
      }

      let processes = try await ssh.run(small, """
        python3 -c '
        import os, time
        n = 0
        try:
            for _ in range(\(limits.processes * 2)):
                if os.fork() == 0:
                    time.sleep(5); os._exit(0)
                n += 1
            print("forked", n)
        except OSError as e:
            print("refused after", n, e.strerror)
        '
        """)
      #expect(processes.stdout.hasPrefix("refused after"), "\(processes)")

      let disk = try await ssh.run(small, "dd if=/dev/zero of=/workspace/fill bs=1M count=\(limits.workspace >> 19) 2>&1; rm -f /workspace/fill")
      #expect(disk.stdout.contains("No space left on device"), "\(disk)")
      let tmpfs = try await ssh.run(small, "dd if=/dev/zero of=/tmp/fill bs=1M count=\(limits.tmpfs >> 19) 2>&1; rm -f /tmp/fill")
      #expect(tmpfs.stdout.contains("No space left on device"), "\(tmpfs)")

      // The sandbox still serves, and so does its neighbour.
      for session in [small, bystander] {
        let echo = try await ssh.run(session, "echo alive")
        #expect(echo.stdout == "alive\n", "\(echo)")
      }
      let health = try await fixture.cli(["health"], token: .none)
      #expect(health.exitCode == 0, "\(health)")
    }
  }

  @Test("a 20,500-deep directory tree: delete succeeds, the server stays up, and a restart is clean")
  func deepTree() async throws {
    try await withDaemon { fixture, first in
      let ssh = try await OpenSSH(fixture: fixture)
      let session = try await ssh.createSession()
      let make = try await ssh.run(session, """
        python3 -c '
        import os
        depth = 0
        for i in range(20500):
            os.mkdir("d"); os.chdir("d"); depth += 1
        print("deep", depth)
        '
        """)
      #expect(make.exitCode == 0 && make.stdout == "deep 20500\n", "\(make)")
      let delete = try await fixture.cli(["session", "delete", session.id])
      #expect(delete.exitCode == 0, "\(delete)")
      #expect(first.isRunning)
      let health = try await fixture.cli(["health"], token: .none)
      #expect(health.exitCode == 0, "\(health)")
      try await eventually("the sandbox's files to be removed") {
        !FileManager.default.fileExists(atPath: "\(fixture.stateDirectory)/sandboxes/\(session.id)")
      }
      let stopped = try await first.stop(timeout: .seconds(20))
      #expect(stopped.termination == .exited(0), "\(stopped)")
      let second = try await fixture.startDaemon()
      #expect(!second.stderr.contains("error"), "\(second.stderr)")
      let list = try await fixture.cli(["session", "list", "--json"]).succeeded(as: CLISessionList.self)
      #expect(list.sessions.isEmpty)
    }
  }

  @Test("50 create/delete cycles leave no zombie, cgroup, mount or sandbox directory behind")
  func noLeftovers() async throws {
    try await withDaemon { fixture, daemon in
      var ids: [String] = []
      for _ in 0..<50 {
        let created = try await fixture.cli(["session", "create", "--image", DaemonFixture.echoImage, "--json"])
          .succeeded(as: CLISession.self)
        ids.append(created.id)
        let delete = try await fixture.cli(["session", "delete", created.id])
        #expect(delete.exitCode == 0, "\(delete)")
      }
      #expect(zombieChildren(of: daemon.pid).isEmpty, "zombies: \(zombieChildren(of: daemon.pid))")
      let mountinfo = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
      #expect(!mountinfo.contains(fixture.stateDirectory), "a workspace is still mounted")
      try await eventually("the sandbox directories to go") {
        ((try? FileManager.default.contentsOfDirectory(atPath: fixture.stateDirectory + "/sandboxes")) ?? ["?"]).isEmpty
      }
      for controller in ["memory", "pids", "cpu"] {
        let left = Set((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup/\(controller)/agentcube")) ?? [])
        #expect(left.isDisjoint(with: ids), "cgroups left in \(controller): \(left.intersection(ids))")
      }
    }
  }
}

/// Pids of the zombie children of `pid` (state Z in /proc/<child>/stat).
func zombieChildren(of pid: Int32) -> [Int32] {
  let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return names.compactMap(Int32.init).filter { child in
    guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return false }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 && fields[0] == "Z" && Int32(fields[1]) == pid
  }
}

/// A listener on the host that never accepts by itself: it counts the connections that reached
/// it. ``init()``: TCP on 127.0.0.1 (an ephemeral ``port``); ``init(abstractName:)``: an abstract
/// Unix socket (`\0name`), which belongs to the host's network namespace.
final class HostListener: Sendable {
  let fd: Int32
  let port: UInt16

  init() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try Self.listen(fd, bound: bound)
    self.fd = fd
    port = UInt16(bigEndian: address.sin_port)
  }

  init(abstractName name: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = [UInt8(0)] + Array(name.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
      for (index, byte) in bytes.enumerated() { raw[index] = byte }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
    }
    try Self.listen(fd, bound: bound)
    self.fd = fd
    port = 0
  }

  private static func listen(_ fd: Int32, bound: Bool) throws {
    guard fd >= 0, bound, Glibc.listen(fd, 16) == 0 else {
      if fd >= 0 { Glibc.close(fd) }
      throw POSIXError(.EADDRNOTAVAIL)
    }
  }

  /// Connections that arrived (accepted now, without blocking).
  func acceptedCount() -> Int {
    var count = 0
    while case let client = accept(fd, nil, nil), client >= 0 {
      Glibc.close(client)
      count += 1
    }
    return count
  }

  func close() { Glibc.close(fd) }
}

/// The pid of the sandbox init of session `id` (runc's pid file in its bundle).
func sandboxInitPID(of id: String, in fixture: DaemonFixture) -> Int32? {
  guard let data = FileManager.default.contents(atPath: "\(fixture.stateDirectory)/sandboxes/\(id)/init.pid") else {
    return nil
  }
  return Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}

/// The slirp4netns processes serving the sandbox whose init is `pid` (their argv names it).
func relayProcesses(forInit pid: Int32) -> [Int32] {
  let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
  return names.compactMap(Int32.init).filter { candidate in
    guard let argv = FileManager.default.contents(atPath: "/proc/\(candidate)/cmdline") else { return false }
    let words = argv.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    return words.first?.hasSuffix("slirp4netns") == true && words.contains("\(pid)")
  }
}
