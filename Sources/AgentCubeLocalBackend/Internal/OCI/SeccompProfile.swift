import Foundation
import Glibc

/// The container field's default syscall filter, made into the OCI form for one sandbox.
///
/// The source is containers-common's profile (`/usr/share/containers/seccomp.json`, Debian
/// `golang-github-containers-common`; podman's default), in Docker's format: rules may apply only
/// on some architectures (`includes.arches`) or only with or without some capabilities
/// (`includes.caps`, `excludes.caps`). ``convert(_:capabilities:architecture:)`` keeps exactly the
/// rules that hold for this machine and the capabilities a sandbox gets, and adds what the profile
/// leaves to user namespaces: a sandbox may not make a user namespace of its own (`unshare` and
/// `clone` with `CLONE_NEWUSER` fail with EPERM; `clone3`, whose flags a filter cannot read,
/// fails with ENOSYS so that libc falls back to `clone`).
enum SeccompProfile {
  /// Where Debian installs the profile.
  static let defaultPath = "/usr/share/containers/seccomp.json"

  struct DockerProfile: Decodable {
    var defaultAction: String
    var defaultErrnoRet: UInt32?
    var archMap: [ArchMapEntry]?
    var syscalls: [DockerSyscall]
  }

  struct ArchMapEntry: Decodable {
    var architecture: String
    var subArchitectures: [String]?
  }

  struct DockerSyscall: Decodable {
    var names: [String]
    var action: String
    var errnoRet: UInt32?
    var args: [RuntimeSpec.SyscallArgument]?
    var includes: Filter?
    var excludes: Filter?
  }

  struct Filter: Decodable {
    var arches: [String]?
    var caps: [String]?
    var minKernel: String?
  }

  static let cloneNewUser: UInt64 = 0x1000_0000

  /// Reads and converts the profile at `path`.
  ///
  /// - Throws: ``LocalBackendError`` naming the file when it is missing or not a profile.
  static func load(
    path: String = defaultPath, capabilities: [String], architecture: String = machineArchitecture()
  ) throws -> RuntimeSpec.Seccomp {
    guard let bytes = FileSystem.read(path, limit: 4 << 20) else {
      throw LocalBackendError(
        "cannot read the seccomp profile \(path): install golang-github-containers-common")
    }
    let profile: DockerProfile
    do {
      profile = try JSONDecoder().decode(DockerProfile.self, from: Data(bytes))
    } catch {
      throw LocalBackendError("\(path) is not a seccomp profile: \(error)")
    }
    return try convert(profile, capabilities: capabilities, architecture: architecture)
  }

  /// The OCI filter for `architecture` (uname's name, e.g. `x86_64`) and the granted `capabilities`.
  static func convert(_ profile: DockerProfile, capabilities: [String], architecture: String) throws
    -> RuntimeSpec.Seccomp
  {
    guard let (goArch, scmpArch) = architectureNames[architecture] else {
      throw LocalBackendError("no seccomp architecture known for \(architecture)")
    }
    let granted = Set(capabilities)
    var architectures = [scmpArch]
    if let entry = profile.archMap?.first(where: { $0.architecture == scmpArch }) {
      architectures += entry.subArchitectures ?? []
    }
    let userNamespaceSyscalls: Set<String> = ["unshare", "clone", "clone3"]
    var syscalls: [RuntimeSpec.Syscall] = []
    for rule in profile.syscalls {
      if let arches = rule.includes?.arches, !arches.isEmpty, !arches.contains(goArch) { continue }
      if let caps = rule.includes?.caps, !caps.isEmpty, !Set(caps).isSubset(of: granted) { continue }
      if let arches = rule.excludes?.arches, arches.contains(goArch) { continue }
      if let caps = rule.excludes?.caps, !granted.isDisjoint(with: caps) { continue }
      var names = rule.names
      if rule.action == "SCMP_ACT_ALLOW" && (rule.args ?? []).isEmpty {
        names.removeAll { userNamespaceSyscalls.contains($0) }
      }
      guard !names.isEmpty else { continue }
      syscalls.append(RuntimeSpec.Syscall(names: names, action: rule.action, errnoRet: rule.errnoRet, args: rule.args))
    }
    let withoutNewUser = RuntimeSpec.SyscallArgument(index: 0, value: cloneNewUser, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")
    let withNewUser = RuntimeSpec.SyscallArgument(
      index: 0, value: cloneNewUser, valueTwo: cloneNewUser, op: "SCMP_CMP_MASKED_EQ")
    syscalls += [
      RuntimeSpec.Syscall(names: ["unshare"], action: "SCMP_ACT_ALLOW", errnoRet: nil, args: [withoutNewUser]),
      RuntimeSpec.Syscall(names: ["unshare"], action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM), args: [withNewUser]),
      // clone's flags are its first argument on every architecture of ``architectureNames`` (not on
      // s390x, where they are the second: it is left out of the map, so no filter is made for it).
      RuntimeSpec.Syscall(names: ["clone"], action: "SCMP_ACT_ALLOW", errnoRet: nil, args: [withoutNewUser]),
      RuntimeSpec.Syscall(names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: UInt32(EPERM), args: [withNewUser]),
      RuntimeSpec.Syscall(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: UInt32(ENOSYS), args: nil),
    ]
    return RuntimeSpec.Seccomp(
      defaultAction: profile.defaultAction, defaultErrnoRet: profile.defaultErrnoRet, architectures: architectures,
      syscalls: syscalls)
  }

  /// uname's machine name to the profile's (Go) and libseccomp's architecture names.
  static let architectureNames: [String: (String, String)] = [
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
  ]

  /// This machine's architecture as uname reports it.
  static func machineArchitecture() -> String {
    var names = utsname()
    uname(&names)
    return withUnsafePointer(to: &names.machine) {
      String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
    }
  }
}
