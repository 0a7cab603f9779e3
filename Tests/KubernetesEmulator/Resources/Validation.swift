import Foundation

/// Kube's name and label checks (apimachinery's `validation` package), with its messages.
enum Validation {
  static let dns1123SubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
  static let labelValueMessage =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
  static let qualifiedNameMessage =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

  static func isDNSSubdomain(_ name: String) -> Bool {
    guard !name.isEmpty, name.utf8.count <= 253 else { return false }
    return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
      guard let first = label.first, let last = label.last else { return false }
      return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
        && label.allSatisfy { isLowerAlphanumeric($0) || $0 == "-" }
    }
  }

  static func isLabelValue(_ value: String) -> Bool {
    guard let first = value.first, let last = value.last else { return true }
    return value.count <= 63 && isAlphanumeric(first) && isAlphanumeric(last)
      && value.allSatisfy { isAlphanumeric($0) || $0 == "-" || $0 == "_" || $0 == "." }
  }

  /// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain, the name ≤ 63.
  static func isQualifiedName(_ key: String) -> Bool {
    let parts = key.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count <= 2, let name = parts.last, !name.isEmpty, name.count <= 63 else { return false }
    if parts.count == 2 && !isDNSSubdomain(String(parts[0])) { return false }
    return isLabelValue(String(name))
  }

  private static func isLowerAlphanumeric(_ character: Character) -> Bool {
    character.isASCII && (character.isLowercase || character.isNumber)
  }

  private static func isAlphanumeric(_ character: Character) -> Bool {
    character.isASCII && (character.isLetter || character.isNumber)
  }

  /// RFC 3339 `date-time`, as the OpenAPI `format: date-time` checks it.
  static func date(_ text: String) -> Date? {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)
  }

  /// `metav1.Time`'s form: RFC 3339, seconds, UTC.
  static func timestamp(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
  }

  /// Field errors collected by a validator, as `field.ErrorList`.
  struct Errors {
    var causes: [KubeStatus.Cause] = []

    mutating func required(_ field: String, _ detail: String? = nil) {
      causes.append(
        .init(reason: "FieldValueRequired", message: "Required value" + (detail.map { ": \($0)" } ?? ""), field: field))
    }

    mutating func invalid(_ field: String, _ value: JSONValue, _ detail: String) {
      causes.append(.init(reason: "FieldValueInvalid", message: "Invalid value: \(goValue(value)): \(detail)", field: field))
    }

    mutating func type(_ field: String, _ value: JSONValue, _ expected: String) {
      causes.append(
        .init(
          reason: "FieldValueTypeInvalid",
          message: "Invalid value: \"\(value.typeName)\": \(field) in body must be of type \(expected): \"\(value.typeName)\"",
          field: field))
    }

    mutating func notSupported(_ field: String, _ value: JSONValue, _ supported: [String]) {
      causes.append(
        .init(
          reason: "FieldValueNotSupported",
          message: "Unsupported value: \(goValue(value)): supported values: "
            + supported.map { "\"\($0)\"" }.joined(separator: ", "), field: field))
    }

    mutating func tooLong(_ field: String, _ limit: Int) {
      causes.append(.init(reason: "FieldValueTooLong", message: "Too long: must have at most \(limit) bytes", field: field))
    }

    /// Go's `%#v`-ish rendering in field errors: strings quoted, numbers bare.
    private func goValue(_ value: JSONValue) -> String {
      if let text = value.string { return JSONText.quoted(text) }
      return value.text
    }
  }
}
