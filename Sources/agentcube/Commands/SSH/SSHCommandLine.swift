import AgentCube

/// The OpenSSH command line of `agentcube ssh`: ssh reaches the sandbox through
/// `agentcube tunnel` as its ProxyCommand.
struct SSHCommandLine {
  /// The agentcube executable the ProxyCommand runs.
  var agentcube: String
  /// Options of `agentcube tunnel` (the server, the timeout); never the token.
  var tunnelOptions: [String]
  /// A private key for `ssh -i`.
  var identity: String?
  /// The user to log in as (the session's SSH user).
  var user: String
  /// The session's id, which is also the host name ssh passes to the ProxyCommand as `%h`.
  var sessionID: String
  /// How ssh checks the sandbox's host key.
  var hostKeyCheck: SSHHostKeyCheck
  /// More ssh arguments after the destination: options, then the remote command.
  var extraArguments: [String]

  /// The ProxyCommand: shell words (ssh runs it with `$SHELL -c`), `%` escaped for ssh's own expansion.
  var proxyCommand: String {
    let words = [agentcube, "tunnel"] + tunnelOptions
    return words.map { ShellQuoting.quote($0).replacing("%", with: "%%") }.joined(separator: " ") + " %h"
  }

  /// The arguments, starting with `ssh`.
  var arguments: [String] {
    var arguments = ["ssh", "-o", "ProxyCommand=\(proxyCommand)"] + hostKeyCheck.sshOptions
    if let identity { arguments += ["-i", identity] }
    arguments.append(user.isEmpty ? sessionID : "\(user)@\(sessionID)")
    return arguments + extraArguments
  }
}
