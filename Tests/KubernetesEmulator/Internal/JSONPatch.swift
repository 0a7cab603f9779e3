/// The two patch formats the API server applies to custom resources: JSON merge patch (RFC 7386,
/// `application/merge-patch+json`) and JSON patch (RFC 6902, `application/json-patch+json`).
enum JSONPatch {
  /// RFC 7386: objects merge member by member, `null` removes, anything else replaces.
  static func merge(_ patch: JSONValue, into target: JSONValue) -> JSONValue {
    guard case .object(let members) = patch else { return patch }
    var result: [String: JSONValue]
    if case .object(let existing) = target { result = existing } else { result = [:] }
    for (key, value) in members {
      if case .null = value {
        result.removeValue(forKey: key)
      } else {
        result[key] = merge(value, into: result[key] ?? .null)
      }
    }
    return .object(result)
  }

  /// RFC 6902 operations (`add`, `remove`, `replace`, `test`, `move`, `copy`); a malformed patch is
  /// a 400, a failing operation 422, in the API server's way.
  static func apply(_ patch: JSONValue, to target: JSONValue) throws -> JSONValue {
    guard let operations = patch.array else {
      throw KubeStatus.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    }
    var document = target
    for operation in operations {
      guard let op = operation["op"].string, let path = operation["path"].string else {
        throw KubeStatus.badRequest("the server rejected our request due to an error in our request")
      }
      let pointer = try Pointer(path)
      switch op {
      case "add":
        document = try pointer.adding(operation["value"], to: document)
      case "remove":
        _ = try pointer.value(in: document)
        document = try pointer.removing(from: document)
      case "replace":
        _ = try pointer.value(in: document)
        document = try pointer.removing(from: document)
        document = try pointer.adding(operation["value"], to: document)
      case "test":
        guard try pointer.value(in: document) == operation["value"] else {
          throw unprocessable("testing value \(path) failed: test failed")
        }
      case "move", "copy":
        guard let from = operation["from"].string else { throw unprocessable("missing from in \(op) operation") }
        let source = try Pointer(from)
        let value = try source.value(in: document)
        if op == "move" { document = try source.removing(from: document) }
        document = try pointer.adding(value, to: document)
      default:
        throw unprocessable("Unexpected kind: \(op)")
      }
    }
    return document
  }

  static func unprocessable(_ message: String) -> KubeStatus {
    KubeStatus(code: 422, reason: "Invalid", message: message)
  }

  /// An RFC 6901 JSON pointer.
  struct Pointer {
    var tokens: [String]

    init(_ text: String) throws {
      guard text.isEmpty || text.hasPrefix("/") else { throw unprocessable("invalid JSON pointer \(text)") }
      tokens = text.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
        String($0).replacing("~1", with: "/").replacing("~0", with: "~")
      }
    }

    func value(in document: JSONValue) throws -> JSONValue {
      var current = document
      for token in tokens {
        switch current {
        case .object(let members):
          guard let next = members[token] else { throw missing() }
          current = next
        case .array(let elements):
          guard let index = Int(token), elements.indices.contains(index) else { throw missing() }
          current = elements[index]
        default: throw missing()
        }
      }
      return current
    }

    func adding(_ value: JSONValue, to document: JSONValue) throws -> JSONValue {
      try Self.modify(document, tokens[...]) { parent, last in
        switch parent {
        case .object(var members):
          members[last] = value
          return .object(members)
        case .array(var elements):
          if last == "-" {
            elements.append(value)
          } else {
            guard let index = Int(last), (0...elements.count).contains(index) else { throw missing() }
            elements.insert(value, at: index)
          }
          return .array(elements)
        default: throw missing()
        }
      } root: {
        value
      }
    }

    func removing(from document: JSONValue) throws -> JSONValue {
      try Self.modify(document, tokens[...]) { parent, last in
        switch parent {
        case .object(var members):
          guard members.removeValue(forKey: last) != nil else { throw missing() }
          return .object(members)
        case .array(var elements):
          guard let index = Int(last), elements.indices.contains(index) else { throw missing() }
          elements.remove(at: index)
          return .array(elements)
        default: throw missing()
        }
      } root: {
        .null
      }
    }

    private func missing() -> KubeStatus {
      unprocessable("doc is missing path: \"/\(tokens.joined(separator: "/"))\": missing value")
    }

    private static func modify(
      _ document: JSONValue, _ tokens: ArraySlice<String>, _ change: (JSONValue, String) throws -> JSONValue,
      root: () -> JSONValue
    ) throws -> JSONValue {
      guard let first = tokens.first else { return root() }
      if tokens.count == 1 { return try change(document, first) }
      let rest = tokens.dropFirst()
      switch document {
      case .object(var members):
        guard let child = members[first] else {
          throw unprocessable("doc is missing path: \"/\(tokens.joined(separator: "/"))\": missing value")
        }
        members[first] = try modify(child, rest, change, root: root)
        return .object(members)
      case .array(var elements):
        guard let index = Int(first), elements.indices.contains(index) else {
          throw unprocessable("doc is missing path: \"/\(tokens.joined(separator: "/"))\": missing value")
        }
        elements[index] = try modify(elements[index], rest, change, root: root)
        return .array(elements)
      default:
        throw unprocessable("doc is missing path: \"/\(tokens.joined(separator: "/"))\": missing value")
      }
    }
  }
}
