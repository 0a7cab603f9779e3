import Foundation
import NIOHTTP1

/// Create, update (PUT), patch and delete of Sandboxes, with kube's checks in kube's order and words:
/// kind and apiVersion, namespace and name, schema (prune, default, validate), optimistic
/// concurrency on `metadata.resourceVersion`, delete preconditions. `status` is a subresource:
/// writes to the object leave it as it is.
struct SandboxWrites: Sendable {
  var type: ResourceType
  var version: SandboxVersion
  var store: ObjectStore
  var now: @Sendable () -> Date
  var headers: HTTPHeaders

  // MARK: Create

  func create(_ request: EmulatorRequest) throws -> EmulatorResponse {
    let namespace = request.pathParameters["namespace"] ?? ""
    var object = try decode(request.body)
    if let given = object["metadata"]["namespace"].string, !given.isEmpty, given != namespace {
      throw KubeStatus.badRequest("the namespace of the provided object does not match the namespace sent on the request")
    }
    if object["metadata"]["name"].string?.isEmpty ?? true, let prefix = object["metadata"]["generateName"].string,
      !prefix.isEmpty
    {
      object["metadata"]["name"] = .string(prefix + Self.randomSuffix())
    }
    let name = object["metadata"]["name"].string ?? ""
    let warnings = SandboxSchema.prune(&object, version: version)
    SandboxSchema.applyDefaults(&object, version: version)
    var causes = metadataCauses(object, creating: true)
    causes += SandboxSchema.validate(object, version: version)
    guard causes.isEmpty else { throw KubeStatus.invalid(kind: type.kind, group: type.group, name: name, causes: causes) }
    var stored = SandboxSchema.toStorage(object, from: version)
    stored["status"] = nil
    stored["metadata"] = Self.keptMetadata(object["metadata"])
    stored["metadata"]["name"] = .string(name)
    stored["metadata"]["namespace"] = .string(namespace)
    stored["metadata"]["uid"] = .string(UUID().uuidString.lowercased())
    stored["metadata"]["generation"] = 1
    stored["metadata"]["creationTimestamp"] = .string(Validation.timestamp(now()))
    guard let created = store.create(type.key(namespace, name), stored) else {
      throw KubeStatus.alreadyExists(group: type.group, resource: type.resource, name: name)
    }
    return answer(.created, created, warnings: warnings)
  }

  // MARK: Update and patch

  func update(_ request: EmulatorRequest) throws -> EmulatorResponse {
    let body = try decode(request.body)
    return try modify(request, isUpdate: true) { _ in body }
  }

  func patch(_ request: EmulatorRequest) throws -> EmulatorResponse {
    let contentType = (request.headers.first(name: "content-type") ?? "").split(separator: ";").first.map {
      $0.trimmingCharacters(in: .whitespaces).lowercased()
    }
    let patch = try JSONValue(parsing: request.body)
    switch contentType {
    case "application/merge-patch+json":
      guard case .object = patch else {
        throw KubeStatus.badRequest("json: cannot unmarshal array into Go value of type map[string]interface {}")
      }
      return try modify(request, isUpdate: false) { JSONPatch.merge(patch, into: $0) }
    case "application/json-patch+json":
      return try modify(request, isUpdate: false) { try JSONPatch.apply(patch, to: $0) }
    default:
      throw KubeStatus.unsupportedPatchType
    }
  }

  /// One read-modify-write under the store's lock: `change` gets the object as the client's version
  /// shows it and returns what the client wants stored.
  private func modify(
    _ request: EmulatorRequest, isUpdate: Bool, _ change: (JSONValue) throws -> JSONValue
  ) throws -> EmulatorResponse {
    let namespace = request.pathParameters["namespace"] ?? ""
    let name = request.pathParameters["name"] ?? ""
    var warnings: [String] = []
    let stored = try store.update(type.key(namespace, name)) { current -> JSONValue? in
      guard let current else { throw type.notFound(name) }
      let shown = SandboxSchema.render(current, as: version)
      var object = try change(shown)
      guard case .object = object else { throw KubeStatus.badRequest("the body of the request is not a JSON object") }
      try checkKind(object)
      if let given = object["metadata"]["name"].string, given != name {
        throw KubeStatus.badRequest("the name of the object (\(given)) does not match the name on the URL (\(name))")
      }
      if let given = object["metadata"]["namespace"].string, !given.isEmpty, given != namespace {
        throw KubeStatus.badRequest("the namespace of the provided object does not match the namespace sent on the request")
      }
      let currentVersion = current["metadata"]["resourceVersion"].string ?? ""
      switch object["metadata"]["resourceVersion"].string {
      case nil where isUpdate:
        // Custom resources do not allow unconditional updates.
        throw KubeStatus.invalid(
          kind: type.kind, group: type.group, name: name,
          causes: [
            .init(
              reason: "FieldValueInvalid", message: "Invalid value: 0x0: must be specified for an update",
              field: "metadata.resourceVersion")
          ])
      case let given? where given != currentVersion:
        throw KubeStatus.conflict(group: type.group, resource: type.resource, name: name)
      default: break
      }
      warnings = SandboxSchema.prune(&object, version: version)
      SandboxSchema.applyDefaults(&object, version: version)
      var causes = metadataCauses(object, creating: false)
      causes += SandboxSchema.validate(object, version: version, old: shown)
      guard causes.isEmpty else {
        throw KubeStatus.invalid(kind: type.kind, group: type.group, name: name, causes: causes)
      }
      var next = SandboxSchema.toStorage(object, from: version)
      // System fields stay; status is the status subresource's.
      next["metadata"] = Self.keptMetadata(object["metadata"])
      for field in ["name", "namespace", "uid", "creationTimestamp", "generation", "resourceVersion"] {
        next["metadata"][field] = current["metadata"][field]
      }
      next["status"] = current["status"]
      if next["spec"] != current["spec"] {
        next["metadata"]["generation"] = .int((current["metadata"]["generation"].int ?? 1) + 1)
      }
      return next
    }
    guard let stored else { throw type.notFound(name) }
    return answer(.ok, stored, warnings: warnings)
  }

  // MARK: Delete

  func delete(_ request: EmulatorRequest) throws -> EmulatorResponse {
    let namespace = request.pathParameters["namespace"] ?? ""
    let name = request.pathParameters["name"] ?? ""
    var preconditions: JSONValue = .null
    if !request.body.isEmpty {
      let options = try JSONValue(parsing: request.body)
      preconditions = options["preconditions"]
    }
    let deleted = try store.delete(type.key(namespace, name)) { current in
      guard let current else { throw type.notFound(name) }
      if let uid = preconditions["uid"].string, uid != current["metadata"]["uid"].string {
        throw KubeStatus.conflict(
          group: type.group, resource: type.resource, name: name,
          why: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current["metadata"]["uid"].string ?? "")")
      }
      if let revision = preconditions["resourceVersion"].string,
        revision != current["metadata"]["resourceVersion"].string
      {
        throw KubeStatus.conflict(
          group: type.group, resource: type.resource, name: name,
          why:
            "Precondition failed: ResourceVersion in precondition: \(revision), ResourceVersion in object meta: \(current["metadata"]["resourceVersion"].string ?? "")"
        )
      }
    }
    guard let deleted else { throw type.notFound(name) }
    return answer(.ok, deleted, warnings: [])
  }

  // MARK: Helpers

  /// The body as an object of this kind and version, or kube's 400.
  private func decode(_ body: [UInt8]) throws -> JSONValue {
    let object = try JSONValue(parsing: body)
    guard case .object = object else {
      throw KubeStatus.badRequest("couldn't get version/kind; json parse error: the body is not a JSON object")
    }
    try checkKind(object)
    for map in ["labels", "annotations"] {
      let value = object["metadata"][map]
      guard !value.isNull, value.stringMap == nil else { continue }
      let found = value.object?.values.first { $0.string == nil }?.typeName ?? value.typeName
      throw KubeStatus.badRequest(
        "\(type.kind) in version \"\(version.rawValue)\" cannot be handled as a \(type.kind): json: cannot unmarshal \(found == "integer" ? "number" : found) into Go struct field ObjectMeta.metadata.\(map) of type string"
      )
    }
    return object
  }

  private func checkKind(_ object: JSONValue) throws {
    guard let kind = object["kind"].string, !kind.isEmpty else {
      throw KubeStatus.badRequest("Object 'Kind' is missing in '\(object.text)'")
    }
    let apiVersion = object["apiVersion"].string ?? ""
    guard apiVersion == type.apiVersion else {
      throw KubeStatus.badRequest(
        "the API version in the data (\(apiVersion)) does not match the expected API version (\(type.apiVersion))")
    }
    guard kind == type.kind else {
      throw KubeStatus.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
    }
  }

  private func metadataCauses(_ object: JSONValue, creating: Bool) -> [KubeStatus.Cause] {
    var errors = Validation.Errors()
    let metadata = object["metadata"]
    let name = metadata["name"].string ?? ""
    if name.isEmpty {
      errors.required("metadata.name", "name or generateName is required")
    } else if !Validation.isDNSSubdomain(name) {
      errors.invalid("metadata.name", .string(name), Validation.dns1123SubdomainMessage)
    }
    for (key, value) in (metadata["labels"].stringMap ?? [:]).sorted(by: { $0.key < $1.key }) {
      if !Validation.isQualifiedName(key) {
        errors.invalid("metadata.labels", .string(key), Validation.qualifiedNameMessage)
      }
      if value.count > 63 {
        errors.invalid("metadata.labels", .string(value), "must be no more than 63 characters")
      } else if !Validation.isLabelValue(value) {
        errors.invalid("metadata.labels", .string(value), Validation.labelValueMessage)
      }
    }
    let annotations = metadata["annotations"].stringMap ?? [:]
    for key in annotations.keys.sorted() where !Validation.isQualifiedName(key.lowercased()) {
      errors.invalid("metadata.annotations", .string(key), Validation.qualifiedNameMessage)
    }
    if annotations.reduce(0, { $0 + $1.key.utf8.count + $1.value.utf8.count }) > 256 * 1024 {
      errors.tooLong("metadata.annotations", 256 * 1024)
    }
    return errors.causes
  }

  /// The metadata a client may set (labels, annotations, owner references, finalizers).
  private static func keptMetadata(_ metadata: JSONValue) -> JSONValue {
    var kept: JSONValue = [:]
    for field in ["generateName", "labels", "annotations", "ownerReferences", "finalizers"] where !metadata[field].isNull {
      kept[field] = metadata[field]
    }
    return kept
  }

  private func answer(_ status: HTTPResponseStatus, _ stored: JSONValue, warnings: [String]) -> EmulatorResponse {
    var headers = self.headers
    for warning in warnings { headers.add(name: "Warning", value: "299 - \(JSONText.quoted(warning))") }
    return EmulatorResponse(status: status, json: SandboxSchema.render(stored, as: version).bytes, headers: headers)
  }

  /// What `generateName` appends: 5 characters of kube's alphabet (no vowels, no confusable digits).
  static func randomSuffix() -> String {
    let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
    return String((0..<5).map { _ in alphabet.randomElement()! })  // the alphabet is not empty
  }
}
