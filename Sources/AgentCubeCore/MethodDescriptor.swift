/// The full name of a method on the wire, e.g. `/agentcube.v1.SessionService/CreateSession`.
public struct MethodDescriptor: Hashable, Sendable, CustomStringConvertible {
  /// The fully qualified service, e.g. `agentcube.v1.SessionService`.
  public let service: String
  /// The method's name, e.g. `CreateSession`.
  public let method: String
  /// `/<service>/<method>`, the string sent in a REQUEST frame.
  public let fullName: String

  /// Creates a descriptor.
  public init(service: String, method: String) {
    self.service = service
    self.method = method
    self.fullName = "/\(service)/\(method)"
  }

  public var description: String { fullName }
}

extension MethodDescriptor {
  /// The methods of `agentcube.v1.SessionService`.
  public enum SessionService {
    public static let service = "agentcube.v1.SessionService"
    public static let createSession = MethodDescriptor(service: service, method: "CreateSession")
    public static let getSession = MethodDescriptor(service: service, method: "GetSession")
    public static let listSessions = MethodDescriptor(service: service, method: "ListSessions")
    public static let renewSession = MethodDescriptor(service: service, method: "RenewSession")
    public static let deleteSession = MethodDescriptor(service: service, method: "DeleteSession")
    public static let openTunnel = MethodDescriptor(service: service, method: "OpenTunnel")
    /// Every method of the service.
    public static let all = [createSession, getSession, listSessions, renewSession, deleteSession, openTunnel]
  }

  /// The methods of `agentcube.v1.Health`.
  public enum Health {
    public static let service = "agentcube.v1.Health"
    public static let check = MethodDescriptor(service: service, method: "Check")
  }
}
