/// Key–value metadata of a call (request headers or response trailers).
///
/// Keys are compared case-insensitively and stored lower-cased; a key may appear more than once.
public struct Metadata: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
  /// One key–value pair.
  public struct Entry: Hashable, Sendable {
    /// The lower-cased key.
    public var key: String
    /// The value.
    public var value: String
  }

  private var entries: [Entry]

  /// Empty metadata.
  public init() { entries = [] }

  public init(dictionaryLiteral elements: (String, String)...) {
    entries = elements.map { Entry(key: $0.0.lowercased(), value: $0.1) }
  }

  /// Appends a pair; the key is lower-cased.
  public mutating func add(_ key: String, _ value: String) {
    entries.append(Entry(key: key.lowercased(), value: value))
  }

  /// Replaces every value of `key` with one value.
  public mutating func replace(_ key: String, with value: String) {
    let key = key.lowercased()
    entries.removeAll { $0.key == key }
    entries.append(Entry(key: key, value: value))
  }

  /// The first value of `key`, if any.
  public subscript(_ key: String) -> String? {
    let key = key.lowercased()
    return entries.first { $0.key == key }?.value
  }

  /// Number of pairs.
  public var count: Int { entries.count }

  /// Whether there are no pairs.
  public var isEmpty: Bool { entries.isEmpty }

  public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}

extension Metadata {
  /// The key that carries `Bearer <token>`.
  public static let authorizationKey = "authorization"
}
