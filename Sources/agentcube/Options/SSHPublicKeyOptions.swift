import ArgumentParser
import Foundation

/// The public key a session authorizes: --ssh-public-key-file or --ssh-public-key, at most one.
struct SSHPublicKeyOptions: ParsableArguments {
  /// The largest key file read; OpenSSH public keys are far smaller.
  static let maxFileSize = 64 * 1024

  @Option(
    help: ArgumentHelp(
      "A file holding the OpenSSH public key to authorize, e.g. ~/.ssh/id_ed25519.pub (or use --ssh-public-key).",
      valueName: "path"))
  var sshPublicKeyFile: String?

  @Option(help: ArgumentHelp("The OpenSSH public key line to authorize.", valueName: "line"))
  var sshPublicKey: String?

  func validate() throws {
    if sshPublicKeyFile != nil, sshPublicKey != nil {
      throw ValidationError("use either --ssh-public-key-file or --ssh-public-key, not both")
    }
    if let sshPublicKey {
      _ = try Self.keyLine(in: sshPublicKey, source: "--ssh-public-key", error: ValidationError.init)
    }
  }

  /// The key line to send, or `nil` for none.
  ///
  /// - Throws: ``CommandError`` when the file cannot be read or does not hold exactly one public key
  ///   line; `ValidationError` for a bad --ssh-public-key (already caught by ``validate()``).
  func publicKey() throws -> String? {
    if let sshPublicKey {
      return try Self.keyLine(in: sshPublicKey, source: "--ssh-public-key", error: ValidationError.init)
    }
    guard let path = sshPublicKeyFile else { return nil }
    let bytes = try BoundedFileReader.read(NSString(string: path).expandingTildeInPath, limit: Self.maxFileSize)
    return try Self.keyLine(in: String(decoding: bytes, as: UTF8.self), source: path, error: CommandError.init)
  }

  /// The one non-comment line of `text`; refuses private keys so that one is never sent anywhere.
  private static func keyLine(in text: String, source: String, error: (String) -> any Error) throws -> String {
    if text.contains("PRIVATE KEY") { throw error("\(source) holds a private key; give the public key (.pub)") }
    let lines = text.split(whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    guard lines.count == 1 else {
      throw error("\(source) holds \(lines.count) keys; give exactly one OpenSSH public key line")
    }
    return lines[0]
  }
}
