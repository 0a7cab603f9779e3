import AgentCube
import ArgumentParser

/// The exit codes of `agentcube`, documented in the root command's help.
enum ExitCodes {
  /// A local failure (an unreadable file, output that cannot be written); `health`: not serving.
  static let localFailure = ExitCode(1)
  /// Added to a call's status code: `NOT_FOUND` (5) exits 15, `UNAUTHENTICATED` (16) exits 26.
  static let statusBase: Int32 = 10
  /// ArgumentParser's code for a usage error (`ValidationError`, unknown or missing arguments), EX_USAGE.
  static let usage = ExitCode.validationFailure

  /// The exit code for a call that failed with `code`; codes unknown to this version exit as `UNKNOWN`.
  static func forStatus(_ code: StatusCode) -> ExitCode {
    let known = code.rawValue <= StatusCode.unauthenticated.rawValue ? code : .unknown
    return ExitCode(statusBase + Int32(known.rawValue))
  }

  /// The EXIT CODES section of `agentcube --help` (lines under 80 columns: ArgumentParser wraps them).
  static var helpText: String {
    let statuses = (1...StatusCode.unauthenticated.rawValue).map { raw in
      let code = StatusCode(rawValue: raw)
      return "\(forStatus(code).rawValue) \(code)"
    }
    let rows = stride(from: 0, to: statuses.count, by: 2).map { index in
      "        " + statuses[index].padded(to: 24) + (index + 1 < statuses.count ? statuses[index + 1] : "")
    }
    return """
      EXIT CODES
        0     success
        \(localFailure.rawValue)     local failure, e.g. an unreadable file; health: not serving
        \(usage.rawValue)    usage error: bad, missing or conflicting arguments
        10+N  the call failed with status N ("error: <STATUS>: <message>"):
      \(rows.joined(separator: "\n"))
      """
  }
}
