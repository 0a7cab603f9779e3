/// An error of the local backend outside a call: a bad configuration, an images file that does not
/// parse, a state directory that cannot be used.
///
/// Calls of ``LocalBackend`` throw `RPCError` for what a caller should see; this type is for the
/// operator (start-up) and for file-system failures, which the service turns into `INTERNAL`.
/// Its message never contains a secret.
public struct LocalBackendError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What went wrong.
  public var message: String

  /// Creates an error with a message.
  public init(_ message: String) { self.message = message }

  public var description: String { message }
}
