/// The resources one sandbox may use, enforced by the kernel through its OCI spec.
///
/// Memory, processes and CPU are cgroup limits; open files an rlimit; every tmpfs (`/tmp`, `/run`,
/// `/dev/shm`) has its own size; the workspace is a filesystem image of its own size, so a full
/// workspace fails writes with ENOSPC in that sandbox only.
///
/// ```swift
/// var limits = SandboxLimits.defaults
/// limits.memoryBytes = 512 << 20
/// let image = LocalImage.openSSH.with(limits: limits)
/// ```
public struct SandboxLimits: Sendable, Hashable, Codable {
  /// Memory (and tmpfs pages) of all processes together; over it the kernel kills one. Default 2 GiB.
  public var memoryBytes: Int64
  /// Processes and threads at once; `fork` fails beyond it. Default 1,024.
  public var processes: Int64
  /// CPU time as a number of CPUs (a CFS quota per 100 ms period). Default 2.
  public var cpus: Double
  /// Size of the workspace filesystem. Default 10 GiB.
  public var workspaceBytes: Int64
  /// Size of each tmpfs. Default 256 MiB.
  public var tmpfsBytes: Int64
  /// RLIMIT_NOFILE (soft and hard). Default 4,096.
  public var openFiles: UInt64

  /// Creates limits; see each property for its default.
  public init(
    memoryBytes: Int64 = 2 << 30, processes: Int64 = 1024, cpus: Double = 2, workspaceBytes: Int64 = 10 << 30,
    tmpfsBytes: Int64 = 256 << 20, openFiles: UInt64 = 4096
  ) {
    self.memoryBytes = memoryBytes
    self.processes = processes
    self.cpus = cpus
    self.workspaceBytes = workspaceBytes
    self.tmpfsBytes = tmpfsBytes
    self.openFiles = openFiles
  }

  /// 2 GiB of memory, 1,024 processes, 2 CPUs, a 10 GiB workspace, 256 MiB per tmpfs, 4,096 open files.
  public static var defaults: SandboxLimits { SandboxLimits() }

  /// Why these limits cannot be used, or `nil`.
  func problem() -> String? {
    if memoryBytes < 16 << 20 { return "memory must be at least 16 MiB" }
    if processes < 8 { return "processes must be at least 8" }
    if !(cpus >= 0.01 && cpus <= 1024) { return "cpus must be within 0.01...1024" }
    if workspaceBytes < 4 << 20 { return "workspace must be at least 4 MiB" }
    if tmpfsBytes < 1 << 20 { return "tmpfs must be at least 1 MiB" }
    if openFiles < 64 || openFiles > 1 << 20 { return "open files must be within 64...1048576" }
    return nil
  }
}

extension SandboxLimits {
  enum CodingKeys: String, CodingKey {
    case memoryBytes = "memory_bytes"
    case processes
    case cpus
    case workspaceBytes = "workspace_bytes"
    case tmpfsBytes = "tmpfs_bytes"
    case openFiles = "open_files"
  }

  /// Decodes the images file's `limits` object: every key optional, missing ones take the default.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = SandboxLimits.defaults
    self.init(
      memoryBytes: try container.decodeIfPresent(Int64.self, forKey: .memoryBytes) ?? defaults.memoryBytes,
      processes: try container.decodeIfPresent(Int64.self, forKey: .processes) ?? defaults.processes,
      cpus: try container.decodeIfPresent(Double.self, forKey: .cpus) ?? defaults.cpus,
      workspaceBytes: try container.decodeIfPresent(Int64.self, forKey: .workspaceBytes) ?? defaults.workspaceBytes,
      tmpfsBytes: try container.decodeIfPresent(Int64.self, forKey: .tmpfsBytes) ?? defaults.tmpfsBytes,
      openFiles: try container.decodeIfPresent(UInt64.self, forKey: .openFiles) ?? defaults.openFiles)
  }
}
