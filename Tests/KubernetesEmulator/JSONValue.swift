import Foundation

/// A JSON value: the emulator's representation of Kubernetes objects (Sendable, comparable, patchable).
///
/// ```swift
/// let sandbox = try JSONValue(parsing: Array(#"{"metadata":{"name":"s1"}}"#.utf8))
/// sandbox["metadata"]["name"].string  // "s1"
/// ```
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Parses `bytes`; throws a 400 Status as the API server's decoder does for what does not parse.
  public init(parsing bytes: [UInt8]) throws {
    do {
      self = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    } catch {
      throw KubeStatus.badRequest(
        "the body of the request was in an unknown format - accepted media types include: "
          + "application/json, application/yaml, application/vnd.kubernetes.protobuf")
    }
  }

  /// A member of an object; `.null` for anything else or a missing key. Setting `.null` removes the
  /// member; setting a member of a non-object makes it an object.
  public subscript(key: String) -> JSONValue {
    get {
      if case .object(let members) = self { return members[key] ?? .null }
      return .null
    }
    set {
      var members: [String: JSONValue]
      if case .object(let existing) = self {
        members = existing
      } else {
        // Removing from what is not an object leaves it as it is.
        if case .null = newValue { return }
        members = [:]
      }
      if case .null = newValue { members.removeValue(forKey: key) } else { members[key] = newValue }
      self = .object(members)
    }
  }

  public var string: String? { if case .string(let value) = self { value } else { nil } }
  public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
  public var int: Int64? {
    switch self {
    case .int(let value): value
    case .double(let value) where value.rounded() == value && abs(value) < 1e15: Int64(value)
    default: nil
    }
  }
  public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
  public var object: [String: JSONValue]? { if case .object(let value) = self { value } else { nil } }
  public var isNull: Bool { if case .null = self { true } else { false } }

  /// A `map[string]string` (labels, annotations); `nil` when it is not an object of strings.
  public var stringMap: [String: String]? {
    guard let members = object else { return nil }
    var map: [String: String] = [:]
    for (key, value) in members {
      guard let text = value.string else { return nil }
      map[key] = text
    }
    return map
  }

  /// The JSON type name, as the OpenAPI validator names it in messages.
  var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "boolean"
    case .int: "integer"
    case .double: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }

  /// Compact JSON text; object keys sorted (deterministic output).
  public var text: String {
    var out = ""
    write(to: &out)
    return out
  }

  /// `text` as UTF-8 bytes.
  public var bytes: [UInt8] { Array(text.utf8) }

  private func write(to out: inout String) {
    switch self {
    case .null: out += "null"
    case .bool(let value): out += value ? "true" : "false"
    case .int(let value): out += String(value)
    case .double(let value):
      out += value.isFinite ? (value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)") : "null"
    case .string(let value): out += JSONText.quoted(value)
    case .array(let values):
      out += "["
      for (index, value) in values.enumerated() {
        if index > 0 { out += "," }
        value.write(to: &out)
      }
      out += "]"
    case .object(let members):
      out += "{"
      for (index, key) in members.keys.sorted().enumerated() {
        if index > 0 { out += "," }
        out += JSONText.quoted(key)
        out += ":"
        members[key]!.write(to: &out)  // the key comes from `members`
      }
      out += "}"
    }
  }
}

extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int64.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .double(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let value): try container.encode(value)
    case .int(let value): try container.encode(value)
    case .double(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    }
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
  }
  public init(nilLiteral: ()) { self = .null }
}
