import Foundation

/// A parsed `labelSelector`: comma-separated requirements `k=v`, `k==v`, `k!=v`, `k`, `!k`,
/// `k in (a,b)`, `k notin (a,b)`, as kube's `labels.Parse` accepts them.
struct LabelSelector: Sendable, Hashable {
  enum Requirement: Sendable, Hashable {
    case equals(String, String)
    case notEquals(String, String)
    case exists(String)
    case doesNotExist(String)
    case isIn(String, Set<String>)
    case notIn(String, Set<String>)
  }

  var requirements: [Requirement] = []

  static let everything = LabelSelector()

  /// Parses `text`; a 400 Status for what kube would not parse.
  init(parsing text: String) throws {
    var parts: [String] = []
    var current = ""
    var depth = 0
    for character in text {
      if character == "(" { depth += 1 }
      if character == ")" { depth -= 1 }
      if character == "," && depth == 0 {
        parts.append(current)
        current = ""
      } else {
        current.append(character)
      }
    }
    parts.append(current)
    for part in parts {
      let trimmed = part.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty {
        if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
        throw Self.invalid(text)
      }
      requirements.append(try Self.requirement(trimmed, in: text))
    }
  }

  private init() {}

  private static func requirement(_ text: String, in whole: String) throws -> Requirement {
    if text.hasPrefix("!") {
      return .doesNotExist(try key(String(text.dropFirst()), in: whole))
    }
    for (operation, make) in [(" notin ", Requirement.notIn), (" in ", Requirement.isIn)] {
      if let range = text.range(of: operation) {
        let name = try key(String(text[..<range.lowerBound]), in: whole)
        let rest = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard rest.hasPrefix("("), rest.hasSuffix(")") else { throw invalid(whole) }
        let values = rest.dropFirst().dropLast().split(separator: ",").map {
          $0.trimmingCharacters(in: .whitespaces)
        }
        for value in values { try checkValue(value, in: whole) }
        return make(name, Set(values))
      }
    }
    for (operation, make) in [("!=", Requirement.notEquals), ("==", Requirement.equals), ("=", Requirement.equals)] {
      if let range = text.range(of: operation) {
        let name = try key(String(text[..<range.lowerBound]), in: whole)
        let value = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
        try checkValue(value, in: whole)
        return make(name, value)
      }
    }
    return .exists(try key(text, in: whole))
  }

  private static func key(_ text: String, in whole: String) throws -> String {
    let key = text.trimmingCharacters(in: .whitespaces)
    guard !key.isEmpty, !key.contains(where: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "!" || $0 == "=" })
    else { throw invalid(whole) }
    return key
  }

  private static func checkValue(_ value: String, in whole: String) throws {
    guard value.count <= 63, Validation.isLabelValue(value) else { throw invalid(whole) }
  }

  private static func invalid(_ text: String) -> KubeStatus {
    KubeStatus.badRequest("unable to parse requirement: found '\(text)', expected: identifier, '!', '=', '==', '!=', 'in', 'notin'")
  }

  func matches(_ labels: [String: String]) -> Bool {
    requirements.allSatisfy { requirement in
      switch requirement {
      case .equals(let key, let value): labels[key] == value
      case .notEquals(let key, let value): labels[key] != value
      case .exists(let key): labels[key] != nil
      case .doesNotExist(let key): labels[key] == nil
      case .isIn(let key, let values): labels[key].map(values.contains) ?? false
      case .notIn(let key, let values): !(labels[key].map(values.contains) ?? false)
      }
    }
  }
}

/// A parsed `fieldSelector`: custom resources support `metadata.name` and `metadata.namespace` only
/// (`=`, `==`, `!=`); pods also `spec.nodeName` and `status.phase`.
struct FieldSelector: Sendable, Hashable {
  var requirements: [(field: String, value: String, equal: Bool)] = []

  static let everything = FieldSelector()

  init(parsing text: String, supported: [String]) throws {
    for part in text.split(separator: ",") {
      let item = String(part)
      let operation = item.contains("!=") ? "!=" : item.contains("==") ? "==" : "="
      guard let range = item.range(of: operation) else {
        throw KubeStatus.badRequest("invalid selector: '\(text)'; can't understand '\(item)'")
      }
      let field = String(item[..<range.lowerBound])
      guard supported.contains(field) else {
        throw KubeStatus.badRequest(
          "\"\(field)\" is not a known field selector: only " + supported.map { "\"\($0)\"" }.joined(separator: ", "))
      }
      requirements.append((field, String(item[range.upperBound...]), operation != "!="))
    }
  }

  private init() {}

  func matches(_ object: JSONValue) -> Bool {
    requirements.allSatisfy { requirement in
      let path = requirement.field.split(separator: ".").map(String.init)
      let actual = path.reduce(object) { $0[$1] }.string ?? ""
      return (actual == requirement.value) == requirement.equal
    }
  }

  static func == (lhs: FieldSelector, rhs: FieldSelector) -> Bool {
    lhs.requirements.map { "\($0.field)\($0.equal)\($0.value)" } == rhs.requirements.map { "\($0.field)\($0.equal)\($0.value)" }
  }

  func hash(into hasher: inout Hasher) {
    for requirement in requirements { hasher.combine("\(requirement.field)\(requirement.equal)\(requirement.value)") }
  }
}
