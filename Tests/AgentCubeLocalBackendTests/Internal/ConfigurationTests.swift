import Glibc
import Testing

@testable import AgentCubeLocalBackend

@Suite("Images and sandbox command lines")
struct ConfigurationTests {
  @Test("an images file decodes commands, ports, readiness and the built-in image")
  func imagesFile() throws {
    let json = """
      {"images": {
        "web": {"command": ["/usr/bin/python3", "-m", "http.server"], "environment": {"A": "1"}, "port": 8000},
        "banner": {"command": ["/usr/local/bin/fake-ssh"], "port": 2222, "readiness": "ssh-banner"},
        "ssh": {"builtin": "openssh"}
      }}
      """
    let images = try LocalImage.decodeImages(Array(json.utf8), source: "test")
    #expect(images["web"] == .command(["/usr/bin/python3", "-m", "http.server"], environment: ["A": "1"], port: 8000))
    #expect(images["banner"]?.readiness == .sshBanner && images["banner"]?.port == 2222)
    #expect(images["ssh"] == .openSSH)
  }

  @Test(
    "an invalid images file is refused with the reason",
    arguments: [
      #"{"images": {"Web": {"command": ["x"], "port": 1}}}"#, #"{"images": {"w": {"command": [], "port": 1}}}"#,
      #"{"images": {"w": {"command": ["x"], "port": 70000}}}"#,
      #"{"images": {"w": {"command": ["x"], "port": 1, "readiness": "http"}}}"#,
      #"{"images": {"w": {"builtin": "dropbear"}}}"#, #"{"images": []}"#,
    ])
  func invalidImagesFile(_ json: String) {
    #expect(throws: LocalBackendError.self) { try LocalImage.decodeImages(Array(json.utf8), source: "test") }
  }

  @Test("an images file's limits decode, missing keys take the defaults, bad ones are refused")
  func limits() throws {
    let json = #"{"images": {"small": {"builtin": "openssh", "limits": {"memory_bytes": 67108864, "processes": 64}}}}"#
    let images = try LocalImage.decodeImages(Array(json.utf8), source: "test")
    let limits = try #require(images["small"]?.limits)
    #expect(limits.memoryBytes == 64 << 20 && limits.processes == 64)
    #expect(limits.cpus == 2 && limits.workspaceBytes == 10 << 30 && limits.tmpfsBytes == 256 << 20)
    let bad = #"{"images": {"small": {"builtin": "openssh", "limits": {"processes": 1}}}}"#
    #expect(throws: LocalBackendError.self) { try LocalImage.decodeImages(Array(bad.utf8), source: "test") }
  }

  @Test("a sandbox's spec: every namespace, its own id range, read-only root, nosuid,nodev mounts, limits")
  func sandboxSpec() throws {
    let layout = SandboxLayout(stateDirectory: "/var/lib/ac", id: "s-1")
    var limits = SandboxLimits.defaults
    limits.memoryBytes = 64 << 20
    limits.processes = 50
    limits.cpus = 0.5
    let spec = RuntimeSpec.sandbox(
      .init(
        layout: layout, hostname: "sandbox-s", hostID: 1_000_065_536, idCount: 65_536, limits: limits,
        arguments: ["/usr/sbin/sshd"], environment: ["A": "1"], capabilities: RuntimeSpec.defaultCapabilities,
        seccomp: nil, cgroups: true))
    #expect(Set(spec.linux.namespaces.map(\.type)) == ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"])
    #expect(spec.linux.namespaces.allSatisfy { $0.path == nil }, "new namespaces, none of the host's")
    #expect(spec.linux.uidMappings == [.init(containerID: 0, hostID: 1_000_065_536, size: 65_536)])
    #expect(spec.linux.gidMappings == spec.linux.uidMappings)
    #expect(spec.root.readonly && spec.process.noNewPrivileges)
    #expect(!spec.process.capabilities.bounding.contains("CAP_SYS_ADMIN"))
    #expect(!spec.process.capabilities.bounding.contains("CAP_NET_RAW"))
    for mount in spec.mounts where !["proc", "devpts", "mqueue", "sysfs"].contains(mount.type) && mount.destination != "/dev" {
      #expect(mount.options.contains("nosuid") && mount.options.contains("nodev"), "\(mount.destination)")
    }
    for mount in spec.mounts where mount.type == "bind" {
      #expect(mount.options.contains("ro") || mount.destination == "/workspace", "\(mount.destination) must be read-only")
    }
    let sources = Set(spec.mounts.filter { $0.type == "bind" }.map(\.source))
    #expect(sources.isSubset(of: ["/usr", "/etc", layout.workspace, layout.etc + "/passwd", layout.etc + "/group", layout.etc + "/shadow"]))
    #expect(spec.mounts.first { $0.destination == "/tmp" }?.options.contains("size=\(256 << 20)") == true)
    #expect(spec.linux.resources.memory?.limit == 64 << 20 && spec.linux.resources.pids?.limit == 50)
    #expect(spec.linux.resources.cpu?.quota == 50_000 && spec.linux.resources.cpu?.period == 100_000)
    #expect(spec.linux.cgroupsPath == "/agentcube/s-1")
    #expect(spec.process.rlimits.contains(.init(type: "RLIMIT_NOFILE", hard: 4096, soft: 4096)))
    #expect(spec.process.cwd == "/workspace" && spec.process.env == ["A=1"])
  }

  @Test("the containers-common profile converts for x86_64 and the granted capabilities; no new user namespaces")
  func seccomp() throws {
    let profile = try SeccompProfile.load(capabilities: RuntimeSpec.defaultCapabilities, architecture: "x86_64")
    #expect(profile.defaultAction == "SCMP_ACT_ERRNO")
    #expect(profile.architectures.first == "SCMP_ARCH_X86_64")
    func rules(_ name: String) -> [RuntimeSpec.Syscall] { profile.syscalls.filter { $0.names.contains(name) } }
    #expect(rules("read").contains { $0.action == "SCMP_ACT_ALLOW" && $0.args == nil || $0.args?.isEmpty == true })
    // Only with CAP_SYS_CHROOT, which sandboxes have (sshd's privilege separation chroots).
    #expect(rules("chroot").map(\.action) == ["SCMP_ACT_ALLOW"])
    // Needs CAP_SYS_ADMIN, which they do not have: only the EPERM rule is kept.
    #expect(rules("bpf").map(\.action) == ["SCMP_ACT_ERRNO"])
    #expect(rules("arch_prctl").map(\.action) == ["SCMP_ACT_ALLOW"], "an amd64 rule")
    #expect(rules("s390_runtime_instr").isEmpty, "an s390 rule")
    let unshare = rules("unshare")
    #expect(unshare.count == 2)
    #expect(unshare.contains { $0.action == "SCMP_ACT_ERRNO" && $0.errnoRet == UInt32(EPERM) && $0.args?.first?.value == 0x1000_0000 && $0.args?.first?.valueTwo == 0x1000_0000 })
    #expect(rules("clone3").map(\.action) == ["SCMP_ACT_ERRNO"])
    #expect(!profile.syscalls.contains { $0.action == "SCMP_ACT_ALLOW" && ($0.args ?? []).isEmpty && $0.names.contains("clone") })
  }

  @Test("${NAME} in a command image's arguments is expanded once, left to right; unknown names stay")
  func expansion() {
    let variables = ["A": "1", "KEY": "ssh-ed25519 AAAA ${A} $(id)", "B": "${KEY}"]
    #expect(LocalBackend.expand("x${A}y${A}", with: variables) == "x1y1")
    #expect(LocalBackend.expand("${KEY}", with: variables) == "ssh-ed25519 AAAA ${A} $(id)", "a value is not expanded again")
    #expect(LocalBackend.expand("${B}", with: variables) == "${KEY}")
    #expect(LocalBackend.expand("${NOPE} ${A", with: variables) == "${NOPE} ${A")
    #expect(LocalBackend.expand("plain", with: variables) == "plain")
  }

  @Test("a state directory under a directory others may write (without the sticky bit) is refused")
  func unsafeStateDirectory() throws {
    let context = try TestContext()
    defer { context.remove() }
    let open = context.directory + "/open"
    try FileSystem.makeDirectory(open, mode: 0o777)
    #expect(SecurePath.problemWithAncestors(of: open + "/state")?.contains("writable by other users") == true)
    let sticky = context.directory + "/sticky"
    try FileSystem.makeDirectory(sticky, mode: 0o1777)
    #expect(SecurePath.problemWithAncestors(of: sticky + "/state") == nil)
    let owned = context.directory + "/owned"
    try FileSystem.makeDirectory(owned, mode: 0o755)
    chown(owned, 4242, 4242)
    #expect(SecurePath.problemWithAncestors(of: owned + "/state")?.contains("belongs to uid 4242") == true)
    symlink(open, context.directory + "/link")
    #expect(SecurePath.problemWithAncestors(of: context.directory + "/link/state")?.contains("writable") == true)
    // A planted link where a private directory must be is refused, not followed.
    #expect(throws: LocalBackendError.self) { try SecurePath.ensurePrivateDirectory(context.directory + "/link", mode: 0o700) }
  }
}
