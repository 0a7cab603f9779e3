#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

extension LocalImage {
  /// Reads images from a JSON file, to add to ``LocalBackend/Configuration/images``.
  ///
  /// The file holds one object, `images`, mapping names to images:
  ///
  /// ```json
  /// {
  ///   "images": {
  ///     "web": {
  ///       "command": ["/usr/bin/python3", "-m", "http.server", "--bind", "${AGENTCUBE_ADDRESS}", "${AGENTCUBE_PORT}"],
  ///       "environment": { "PYTHONUNBUFFERED": "1" },
  ///       "port": 8000,
  ///       "readiness": "tcp"
  ///     },
  ///     "ssh": { "builtin": "openssh", "limits": { "memory_bytes": 536870912, "processes": 256 } }
  ///   }
  /// }
  /// ```
  ///
  /// - `command` (array of strings, at least one): argv; `${NAME}` is replaced by the sandbox
  ///   variables listed under ``LocalImage``.
  /// - `environment` (object of strings, optional): added to the sandbox's environment.
  /// - `port` (1...65535): where the image serves on the session's address.
  /// - `readiness` (optional): `"tcp"` (default) or `"ssh-banner"`.
  /// - `builtin: "openssh"` instead of `command`: the built-in ``openSSH`` image under another name.
  /// - `limits` (object, optional): ``SandboxLimits``: `memory_bytes`, `processes`, `cpus`,
  ///   `workspace_bytes`, `tmpfs_bytes`, `open_files`; each missing one takes its default.
  ///
  /// Names are 1 to 63 characters: lower-case letters, digits, `-`, `_` and `.`. An image named
  /// `default` replaces the built-in one as the default.
  ///
  /// - Throws: ``LocalBackendError`` naming the file and the problem.
  public static func loadImages(fromFile path: String) throws -> [String: LocalImage] {
    guard let bytes = FileSystem.read(path, limit: 1 << 20) else {
      throw FileSystem.error("cannot read images file", path)
    }
    return try decodeImages(bytes, source: path)
  }

  static func decodeImages(_ bytes: [UInt8], source: String) throws -> [String: LocalImage] {
    let file: ImagesFile
    do {
      file = try JSONDecoder().decode(ImagesFile.self, from: Data(bytes))
    } catch {
      throw LocalBackendError("images file \(source) is not valid: \(error)")
    }
    var images: [String: LocalImage] = [:]
    for (name, entry) in file.images {
      guard isValidName(name) else { throw LocalBackendError("images file \(source): invalid image name '\(name)'") }
      images[name] = try entry.image(named: name, source: source)
    }
    return images
  }

  static func isValidName(_ name: String) -> Bool {
    (1...63).contains(name.utf8.count)
      && name.utf8.allSatisfy { byte in
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
          || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
      }
  }
}

private struct ImagesFile: Decodable {
  var images: [String: Entry]

  struct Entry: Decodable {
    var builtin: String?
    var command: [String]?
    var environment: [String: String]?
    var port: Int?
    var readiness: String?
    var limits: SandboxLimits?

    func image(named name: String, source: String) throws -> LocalImage {
      func invalid(_ why: String) -> LocalBackendError {
        LocalBackendError("images file \(source): image '\(name)': \(why)")
      }
      if let problem = limits?.problem() { throw invalid("limits: \(problem)") }
      return try baseImage(invalid: invalid).with(limits: limits ?? .defaults)
    }

    private func baseImage(invalid: (String) -> LocalBackendError) throws -> LocalImage {
      if let builtin {
        guard builtin == "openssh", command == nil else {
          throw invalid("builtin must be \"openssh\", without command")
        }
        return .openSSH
      }
      guard let command, let program = command.first, !program.isEmpty else {
        throw invalid("command must be a non-empty array")
      }
      guard let port, (1...65535).contains(port) else { throw invalid("port must be within 1...65535") }
      let check: LocalImage.Readiness
      switch readiness ?? "tcp" {
      case "tcp": check = .tcp
      case "ssh-banner": check = .sshBanner
      default: throw invalid("readiness must be \"tcp\" or \"ssh-banner\"")
      }
      for key in (environment ?? [:]).keys where key.isEmpty || key.contains("=") {
        throw invalid("environment names must be non-empty and without '='")
      }
      return .command(command, environment: environment ?? [:], port: UInt16(port), readiness: check)
    }
  }
}
