import ArgumentParser

/// `agentcube-bench`: measurements against the real server in this process. `unary` (the default,
/// so `agentcube-bench --duration 10` still means it) times unary calls; `lifecycle` times
/// CreateSession and DeleteSession of real sandboxes; `soak` loads agentcubed, run as a process, with
/// clients, tunnels and faults.
@main
struct BenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agentcube-bench",
    abstract: "Measure an in-process AgentCube server (see docs/benchmarks.md).",
    subcommands: [AgentCubeBench.self, Lifecycle.self, Soak.self, AuthCache.self, KubernetesOverhead.self],
    defaultSubcommand: AgentCubeBench.self)
}
