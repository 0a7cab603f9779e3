/// The host's subordinate id ranges (`/etc/subuid`, `/etc/subgid`: `name:first:count` lines),
/// which rootless containers of the host's users run as: sandbox ranges must not overlap them.
enum SubordinateIDs {
  /// The first range in either file that overlaps `base ..< base + count`, described, or `nil`.
  static func overlap(base: UInt32, count: UInt64, files: [String] = ["/etc/subuid", "/etc/subgid"]) -> String? {
    let end = UInt64(base) + count
    for file in files {
      guard let bytes = FileSystem.read(file, limit: 1 << 20) else { continue }
      for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
        let fields = line.split(separator: ":")
        guard fields.count == 3, let first = UInt64(fields[1]), let length = UInt64(fields[2]) else { continue }
        if first < end && UInt64(base) < first + length {
          return "\(file)'s range of \(fields[0]) (\(first)..<\(first + length))"
        }
      }
    }
    return nil
  }
}
