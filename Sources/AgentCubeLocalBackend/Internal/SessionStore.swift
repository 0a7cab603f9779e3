import AgentCubeCore
import Glibc

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// What the backend remembers of a session across restarts.
struct SessionRecord: Codable, Sendable, Hashable {
  /// The file format; readers skip records of a newer format (and leave them alone) rather than misread them.
  var format: Int = SessionRecord.currentFormat
  var session: Session
  /// The sandbox's init (runc's container process), once started.
  var process: ProcessIdentity?
  /// The host id range the sandbox owns (``IDRangePool``).
  var idRange: Int
  /// Whether the workspace is a mounted image of its own.
  var workspaceImage: Bool
  /// slirp4netns of a sandbox with ``SandboxNetwork/egress``, or `nil`.
  var network: ProcessIdentity? = nil

  /// 2: runc sandboxes. Records of other formats are set aside, never misread.
  static let currentFormat = 2
}

/// Session records on disk: one JSON file per session in `<state>/sessions`, each replaced
/// atomically (temporary file, fsync, rename, fsync of the directory) so that a crash leaves
/// either the old record or the new one.
struct SessionStore: Sendable {
  let directory: String

  init(directory: String) throws {
    self.directory = directory
    try FileSystem.makeDirectory(directory, mode: 0o700)
  }

  func path(for id: String) -> String { directory + "/" + id + ".json" }

  func save(_ record: SessionRecord) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data: Data
    do {
      data = try encoder.encode(record)
    } catch {
      throw LocalBackendError("cannot encode the record of session \(record.session.id): \(error)")
    }
    try FileSystem.writeAtomically(Array(data), to: path(for: record.session.id), mode: 0o600)
  }

  func remove(id: String) throws {
    guard unlink(path(for: id)) == 0 || errno == ENOENT else { throw FileSystem.error("cannot remove", path(for: id)) }
    FileSystem.syncDirectory(directory)
  }

  /// Every readable record; leftovers of interrupted writes are removed, and unreadable files are
  /// renamed to `<name>.corrupt` (kept for inspection, never read again) and reported.
  func loadAll() -> (records: [SessionRecord], problems: [String]) {
    var records: [SessionRecord] = []
    var problems: [String] = []
    for name in (FileSystem.list(directory) ?? []).sorted() {
      let path = directory + "/" + name
      if name.hasPrefix(".") && name.hasSuffix(".tmp") {
        unlink(path)
        continue
      }
      guard name.hasSuffix(".json") else { continue }
      let id = String(name.dropLast(5))
      guard let bytes = FileSystem.read(path, limit: 1 << 20),
        let record = try? JSONDecoder().decode(SessionRecord.self, from: Data(bytes)),
        record.session.id == id, SandboxLayout.isValidID(id)
      else {
        rename(path, path + ".corrupt")
        problems.append(name)
        continue
      }
      guard record.format == SessionRecord.currentFormat else {
        problems.append("\(name) (format \(record.format), not this server's \(SessionRecord.currentFormat))")
        continue
      }
      records.append(record)
    }
    return (records, problems)
  }
}
