import AgentCube
import ArgumentParser

/// Turns a command's failure into `error: ...` on stderr and the exit code to throw (see ``ExitCodes``).
struct ErrorReporter {
  /// A token to replace with `<redacted>` should a message ever contain it.
  let redacting: String?

  /// Prints `error` and returns what `run()` should throw.
  func report(_ error: any Error) -> any Error {
    switch error {
    case let error as RPCError:
      printError("\(error.code): \(redact(error.message))")
      return ExitCodes.forStatus(error.code)
    case is ExitCode, is ValidationError, is CleanExit:
      return error
    default:
      printError(redact("\(error)"))
      return ExitCodes.localFailure
    }
  }

  private func redact(_ message: String) -> String {
    guard let token = redacting, !token.isEmpty else { return message }
    return message.replacing(token, with: "<redacted>")
  }
}

/// A local failure with a message for the user, e.g. an unreadable file.
struct CommandError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
