import Foundation

/// The package's executables as built for the tests (`agentcubed`, `agentcube`).
///
/// They sit beside the test bundle in `.build/<triple>/<configuration>/`; `AGENTCUBE_BIN_DIR`
/// names another directory. `swift build --build-tests` (as `scripts/test.sh` runs it) builds them.
public enum BuiltProducts {
  /// A built executable is missing.
  public struct Missing: Error, CustomStringConvertible {
    public var name: String
    public var searched: [String]

    public var description: String {
      "executable '\(name)' not found in \(searched.joined(separator: ", ")); "
        + "build it first with `swift build --build-tests` (or set AGENTCUBE_BIN_DIR)"
    }
  }

  /// The directories searched, in order: `$AGENTCUBE_BIN_DIR`, the running test binary's directory
  /// (from `/proc/self/exe`), and that of `CommandLine.arguments[0]`.
  public static var searchDirectories: [String] {
    var directories: [String] = []
    if let configured = ProcessInfo.processInfo.environment["AGENTCUBE_BIN_DIR"], !configured.isEmpty {
      directories.append(configured)
    }
    if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
      directories.append(parent(of: executable))
    }
    if let argument = CommandLine.arguments.first, argument.contains("/") {
      directories.append(parent(of: URL(fileURLWithPath: argument).standardizedFileURL.path))
    }
    var seen: Set<String> = []
    return directories.filter { seen.insert($0).inserted }
  }

  /// The absolute path of executable `name`.
  ///
  /// - Throws: ``Missing`` naming the directories searched.
  public static func executable(_ name: String) throws -> String {
    let directories = searchDirectories
    for directory in directories {
      let path = directory + "/" + name
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
        FileManager.default.isExecutableFile(atPath: path)
      {
        return path
      }
    }
    throw Missing(name: name, searched: directories)
  }

  /// `path` without its last component; a bundle directory (`*.xctest/...`) counts as one component.
  private static func parent(of path: String) -> String {
    var url = URL(fileURLWithPath: path).deletingLastPathComponent()
    while url.path.contains(".xctest") { url.deleteLastPathComponent() }
    return url.path
  }
}
