public import AgentCubeCore
import Foundation

/// Validates an OpenSSH public key line: `<type> <base64 blob> [comment]`, where the blob decodes
/// and starts with the same type name, as `ssh-keygen` writes it.
public enum SSHPublicKey {
  /// Key types accepted.
  public static let acceptedTypes: Set<String> = [
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
  ]
  /// Longest key line accepted (an RSA 16384-bit key fits).
  public static let maxLength = 16 * 1024

  /// Returns the key as one normalised line.
  ///
  /// - Throws: ``AgentCubeCore/RPCError`` `INVALID_ARGUMENT` saying what is wrong.
  public static func validate(_ line: String) throws(RPCError) -> String {
    guard line.utf8.count <= maxLength else { throw .invalidArgument("ssh_public_key is longer than \(maxLength) bytes") }
    let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.contains("\n"), !trimmed.contains("\r") else {
      throw .invalidArgument("ssh_public_key must be a single line")
    }
    let parts = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
    guard parts.count >= 2 else { throw .invalidArgument("ssh_public_key must be '<type> <base64> [comment]' (OpenSSH format)") }
    let type = String(parts[0])
    guard acceptedTypes.contains(type) else {
      throw .invalidArgument("ssh_public_key type '\(type.prefix(64))' is not supported (use one of \(acceptedTypes.sorted().joined(separator: ", ")))")
    }
    guard let blob = Data(base64Encoded: String(parts[1])), blob.count >= 4 else {
      throw .invalidArgument("ssh_public_key's key data is not valid base64")
    }
    let bytes = [UInt8](blob)
    let nameLength = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
    guard nameLength == type.utf8.count, bytes.count >= 4 + nameLength,
      bytes[4..<(4 + nameLength)].elementsEqual(type.utf8)
    else {
      throw .invalidArgument("ssh_public_key's key data does not match its type '\(type)'")
    }
    return parts.joined(separator: " ")
  }
}
