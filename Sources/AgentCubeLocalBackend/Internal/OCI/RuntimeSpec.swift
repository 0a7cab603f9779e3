/// The part of the OCI runtime specification (`config.json`, runtime-spec 1.0) a sandbox uses.
///
/// Field names are the specification's; optional fields are left out of the JSON when `nil`.
struct RuntimeSpec: Codable, Sendable, Hashable {
  var ociVersion = "1.0.2"
  var process: Process
  var root: Root
  var hostname: String
  var mounts: [Mount]
  var linux: Linux

  struct Process: Codable, Sendable, Hashable {
    var terminal = false
    var user: User
    var args: [String]
    var env: [String]
    var cwd: String
    var capabilities: Capabilities
    var rlimits: [Rlimit]
    var noNewPrivileges = true
    var oomScoreAdj: Int?
  }

  struct User: Codable, Sendable, Hashable {
    var uid: UInt32
    var gid: UInt32
    var additionalGids: [UInt32]?
  }

  struct Capabilities: Codable, Sendable, Hashable {
    var bounding: [String]
    var effective: [String]
    var inheritable: [String]
    var permitted: [String]
    var ambient: [String]

    /// The same set in bounding, effective and permitted (none inheritable or ambient), as runc's default spec.
    static func only(_ names: [String]) -> Capabilities {
      Capabilities(bounding: names, effective: names, inheritable: [], permitted: names, ambient: [])
    }
  }

  struct Rlimit: Codable, Sendable, Hashable {
    var type: String
    var hard: UInt64
    var soft: UInt64
  }

  struct Root: Codable, Sendable, Hashable {
    var path: String
    var readonly: Bool
  }

  struct Mount: Codable, Sendable, Hashable {
    var destination: String
    var type: String
    var source: String
    var options: [String]
  }

  struct Linux: Codable, Sendable, Hashable {
    var uidMappings: [IDMapping]?
    var gidMappings: [IDMapping]?
    var namespaces: [Namespace]
    var resources: Resources
    var cgroupsPath: String?
    var seccomp: Seccomp?
    var maskedPaths: [String]
    var readonlyPaths: [String]
  }

  struct IDMapping: Codable, Sendable, Hashable {
    var containerID: UInt32
    var hostID: UInt32
    var size: UInt32
  }

  struct Namespace: Codable, Sendable, Hashable {
    var type: String
    var path: String?
  }

  struct Resources: Codable, Sendable, Hashable {
    var memory: Memory?
    var cpu: CPU?
    var pids: Pids?
    var devices: [DeviceRule]?
  }

  struct Memory: Codable, Sendable, Hashable {
    var limit: Int64?
    var swap: Int64?
  }

  struct CPU: Codable, Sendable, Hashable {
    var quota: Int64?
    var period: UInt64?
  }

  struct Pids: Codable, Sendable, Hashable {
    var limit: Int64
  }

  struct DeviceRule: Codable, Sendable, Hashable {
    var allow: Bool
    var access: String?
  }

  struct Seccomp: Codable, Sendable, Hashable {
    var defaultAction: String
    var defaultErrnoRet: UInt32?
    var architectures: [String]
    var syscalls: [Syscall]
  }

  struct Syscall: Codable, Sendable, Hashable {
    var names: [String]
    var action: String
    var errnoRet: UInt32?
    var args: [SyscallArgument]?
  }

  struct SyscallArgument: Codable, Sendable, Hashable {
    var index: UInt32
    var value: UInt64
    var valueTwo: UInt64?
    var op: String
  }
}
