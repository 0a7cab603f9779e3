import Foundation

/// A served version of `agents.x-k8s.io` Sandboxes.
public enum SandboxVersion: String, Sendable, Hashable, CaseIterable, Codable {
  /// agent-sandbox ≤ v0.5 (deprecated there): `spec.replicas` 0/1, a Service always.
  case v1alpha1
  /// The storage version, the only one agent-sandbox v1.0 serves: `spec.operatingMode`.
  case v1beta1

  var apiVersion: String { "\(SandboxSchema.group)/\(rawValue)" }
}

/// The Sandbox CRD's schema as the API server applies it (`agents.x-k8s.io_sandboxes.crd.yaml`):
/// pruning of unknown fields (with kube's warnings), defaulting, validation with kube's messages, and
/// the conversion between the served versions and storage (v1beta1).
enum SandboxSchema {
  static let group = "agents.x-k8s.io"
  static let kind = "Sandbox"
  static let resource = "sandboxes"
  static let deprecation = "agents.x-k8s.io/v1alpha1 Sandbox is deprecated; use agents.x-k8s.io/v1beta1 Sandbox instead"

  static let metadataFields: Set<String> = [
    "name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
    "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
    "managedFields", "selfLink",
  ]

  static func specFields(_ version: SandboxVersion) -> Set<String> {
    let common: Set<String> = ["podTemplate", "service", "shutdownPolicy", "shutdownTime", "volumeClaimTemplates"]
    return common.union(version == .v1beta1 ? ["operatingMode"] : ["replicas"])
  }

  static func statusFields(_ version: SandboxVersion) -> Set<String> {
    let common: Set<String> = ["conditions", "podIPs", "selector", "service", "serviceFQDN"]
    return common.union(version == .v1beta1 ? ["nodeName"] : ["replicas"])
  }

  /// Drops what the structural schema does not know; the warnings kube sends for it (fieldValidation=Warn).
  static func prune(_ object: inout JSONValue, version: SandboxVersion) -> [String] {
    var warnings: [String] = []
    func prune(_ value: inout JSONValue, known: Set<String>, path: String) {
      guard case .object(var members) = value else { return }
      for key in members.keys.sorted() where !known.contains(key) {
        members.removeValue(forKey: key)
        warnings.append("unknown field \"\(path.isEmpty ? "" : path + ".")\(key)\"")
      }
      value = .object(members)
    }
    prune(&object, known: ["apiVersion", "kind", "metadata", "spec", "status"], path: "")
    prune(&object["metadata"], known: metadataFields, path: "metadata")
    prune(&object["spec"], known: specFields(version), path: "spec")
    prune(&object["spec"]["podTemplate"], known: ["metadata", "spec"], path: "spec.podTemplate")
    prune(&object["spec"]["podTemplate"]["metadata"], known: ["labels", "annotations"], path: "spec.podTemplate.metadata")
    prune(&object["status"], known: statusFields(version), path: "status")
    return warnings
  }

  /// The CRD's `default:`s.
  static func applyDefaults(_ object: inout JSONValue, version: SandboxVersion) {
    guard object["spec"].object != nil else { return }
    if object["spec"]["shutdownPolicy"].isNull { object["spec"]["shutdownPolicy"] = "Retain" }
    switch version {
    case .v1beta1: if object["spec"]["operatingMode"].isNull { object["spec"]["operatingMode"] = "Running" }
    case .v1alpha1: if object["spec"]["replicas"].isNull { object["spec"]["replicas"] = 1 }
    }
  }

  /// The schema's checks of `spec` (metadata is checked by the caller); `old` for the CEL
  /// transition rule (volumeClaimTemplates immutable, v1beta1).
  static func validate(_ object: JSONValue, version: SandboxVersion, old: JSONValue? = nil) -> [KubeStatus.Cause] {
    var errors = Validation.Errors()
    let spec = object["spec"]
    guard case .object = spec else {
      if spec.isNull { errors.required("spec") } else { errors.type("spec", spec, "object") }
      return errors.causes
    }
    checkPodTemplate(spec["podTemplate"], &errors)
    checkString(spec["shutdownPolicy"], "spec.shutdownPolicy", enumeration: ["Delete", "Retain"], &errors)
    let shutdownTime = spec["shutdownTime"]
    if !shutdownTime.isNull {
      if let text = shutdownTime.string {
        if Validation.date(text) == nil {
          errors.invalid(
            "spec.shutdownTime", shutdownTime,
            "spec.shutdownTime in body must be of type date-time: \(JSONText.quoted(text))")
        }
      } else {
        errors.type("spec.shutdownTime", shutdownTime, "string")
      }
    }
    if !spec["service"].isNull && spec["service"].bool == nil { errors.type("spec.service", spec["service"], "boolean") }
    switch version {
    case .v1beta1:
      checkString(spec["operatingMode"], "spec.operatingMode", enumeration: ["Running", "Suspended"], &errors)
    case .v1alpha1:
      let replicas = spec["replicas"]
      if let count = replicas.int {
        if count > 1 {
          errors.invalid("spec.replicas", replicas, "spec.replicas in body should be less than or equal to 1")
        } else if count < 0 {
          errors.invalid("spec.replicas", replicas, "spec.replicas in body should be greater than or equal to 0")
        }
      } else if !replicas.isNull {
        errors.type("spec.replicas", replicas, "integer")
      }
    }
    let claims = spec["volumeClaimTemplates"]
    if !claims.isNull {
      if let items = claims.array {
        for (index, item) in items.enumerated() where item["spec"].isNull {
          errors.required("spec.volumeClaimTemplates[\(index)].spec")
        }
      } else {
        errors.type("spec.volumeClaimTemplates", claims, "array")
      }
    }
    if version == .v1beta1, let old, old["spec"]["volumeClaimTemplates"] != claims {
      errors.invalid("spec", "object", "volumeClaimTemplates is immutable")
    }
    return errors.causes
  }

  private static func checkString(
    _ value: JSONValue, _ field: String, enumeration: [String], _ errors: inout Validation.Errors
  ) {
    guard !value.isNull else { return }
    guard let text = value.string else { return errors.type(field, value, "string") }
    if !enumeration.contains(text) { errors.notSupported(field, value, enumeration) }
  }

  private static func checkPodTemplate(_ template: JSONValue, _ errors: inout Validation.Errors) {
    guard case .object = template else {
      if template.isNull { errors.required("spec.podTemplate") } else { errors.type("spec.podTemplate", template, "object") }
      return
    }
    for map in ["labels", "annotations"] {
      let value = template["metadata"][map]
      if !value.isNull && value.stringMap == nil {
        errors.type("spec.podTemplate.metadata.\(map)", value, "object of strings")
      }
    }
    let podSpec = template["spec"]
    guard case .object = podSpec else {
      if podSpec.isNull {
        errors.required("spec.podTemplate.spec")
      } else {
        errors.type("spec.podTemplate.spec", podSpec, "object")
      }
      return
    }
    let containers = podSpec["containers"]
    guard let list = containers.array else {
      if containers.isNull {
        errors.required("spec.podTemplate.spec.containers")
      } else {
        errors.type("spec.podTemplate.spec.containers", containers, "array")
      }
      return
    }
    for (index, container) in list.enumerated() {
      let path = "spec.podTemplate.spec.containers[\(index)]"
      guard case .object = container else {
        errors.type(path, container, "object")
        continue
      }
      if container["name"].isNull {
        errors.required(path + ".name")
      } else if container["name"].string == nil {
        errors.type(path + ".name", container["name"], "string")
      }
      if !container["image"].isNull && container["image"].string == nil {
        errors.type(path + ".image", container["image"], "string")
      }
      let env = container["env"]
      guard !env.isNull else { continue }
      guard let variables = env.array else {
        errors.type(path + ".env", env, "array")
        continue
      }
      for (position, variable) in variables.enumerated() {
        if variable["name"].string == nil { errors.required(path + ".env[\(position)].name") }
        if !variable["value"].isNull && variable["value"].string == nil {
          errors.type(path + ".env[\(position)].value", variable["value"], "string")
        }
      }
    }
  }

  // MARK: Conversion

  /// A client's object of `version` as stored (v1beta1). v1alpha1's `replicas` becomes
  /// `operatingMode`; its implicit Service becomes `service: true`.
  static func toStorage(_ object: JSONValue, from version: SandboxVersion) -> JSONValue {
    var stored = object
    stored["apiVersion"] = .string(SandboxVersion.v1beta1.apiVersion)
    stored["kind"] = .string(kind)
    guard version == .v1alpha1, stored["spec"].object != nil else { return stored }
    stored["spec"]["operatingMode"] = stored["spec"]["replicas"].int == 0 ? "Suspended" : "Running"
    stored["spec"]["replicas"] = nil
    if stored["spec"]["service"].isNull { stored["spec"]["service"] = true }
    stored["status"]["replicas"] = nil
    if stored["status"] == [:] { stored["status"] = nil }
    return stored
  }

  /// A stored object as `version` shows it.
  static func render(_ stored: JSONValue, as version: SandboxVersion) -> JSONValue {
    var object = stored
    object["apiVersion"] = .string(version.apiVersion)
    object["kind"] = .string(kind)
    guard version == .v1alpha1 else { return object }
    if object["spec"].object != nil {
      object["spec"]["replicas"] = object["spec"]["operatingMode"].string == "Suspended" ? 0 : 1
      object["spec"]["operatingMode"] = nil
    }
    if object["status"].object != nil {
      object["status"]["replicas"] = .int((object["status"]["podIPs"].array?.isEmpty ?? true) ? 0 : 1)
      object["status"]["nodeName"] = nil
    }
    return object
  }
}
