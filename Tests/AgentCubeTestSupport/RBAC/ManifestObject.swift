import KubernetesEmulator
import Yams

/// One object of a manifest file (a YAML document), as JSON.
public struct ManifestObject: Sendable, Hashable, CustomStringConvertible {
  /// The file it came from, relative to the manifests' directory (`deployment.yaml`).
  public var file: String
  /// The whole object.
  public var body: JSONValue

  public init(file: String, body: JSONValue) {
    self.file = file
    self.body = body
  }

  public var apiVersion: String { body["apiVersion"].string ?? "" }
  public var kind: String { body["kind"].string ?? "" }
  public var name: String { body["metadata"]["name"].string ?? "" }
  /// `metadata.namespace`; `nil` when not given (cluster-scoped objects).
  public var namespace: String? { body["metadata"]["namespace"].string }

  public var description: String { "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name) (\(file))" }

  /// The objects of a multi-document YAML text; empty documents are skipped, as kubectl does.
  ///
  /// - Throws: ``RBACManifestError`` for YAML that does not parse, a document that is not a mapping,
  ///   or anchors and aliases (manifests have no use for them, and JSON has none).
  public static func parse(yaml: String, file: String) throws -> [ManifestObject] {
    var objects: [ManifestObject] = []
    do {
      for node in try Yams.compose_all(yaml: yaml) {
        let body = try json(node, file: file)
        if body.isNull { continue }
        guard body.object != nil else {
          throw RBACManifestError(file: file, message: "a document that is not a mapping: \(body.text)")
        }
        objects.append(ManifestObject(file: file, body: body))
      }
    } catch let error as RBACManifestError {
      throw error
    } catch {
      throw RBACManifestError(file: file, message: "not YAML: \(error)")
    }
    return objects
  }

  /// A YAML node as JSON, scalars by the type YAML's resolver gave them (`"7420"` stays a string,
  /// `0440` is the octal number kubectl reads too).
  private static func json(_ node: Node, file: String) throws -> JSONValue {
    switch node {
    case .scalar:
      switch Tag.Name(rawValue: node.tag.rawValue) {
      case .null: return .null
      case .bool: if let value = node.bool { return .bool(value) }
      case .int: if let value = node.int { return .int(Int64(value)) }
      case .float: if let value = node.float { return .double(value) }
      default: break
      }
      return .string(node.string ?? "")
    case .sequence(let sequence):
      return .array(try sequence.map { try json($0, file: file) })
    case .mapping(let mapping):
      var members: [String: JSONValue] = [:]
      for (key, value) in mapping {
        guard case .scalar = key, let name = key.string else {
          throw RBACManifestError(file: file, message: "a mapping key that is not a string")
        }
        guard members[name] == nil else { throw RBACManifestError(file: file, message: "the key '\(name)' twice") }
        members[name] = try json(value, file: file)
      }
      return .object(members)
    case .alias:
      throw RBACManifestError(file: file, message: "a YAML alias (manifests here use none)")
    }
  }
}

/// A manifest that does not parse or that the API server would refuse, with the file it is in.
public struct RBACManifestError: Error, Sendable, Hashable, CustomStringConvertible {
  public var file: String
  public var message: String

  public init(file: String, message: String) {
    self.file = file
    self.message = message
  }

  public var description: String { "\(file): \(message)" }
}
