import ArgumentParser

/// `agentcube-tunnel-bench`: tunnel throughput against direct, socat and splice(2) paths, and the
/// server's memory per idle tunnel. `scripts/bench-tunnel.sh` builds everything and runs both.
@main
struct TunnelBenchmark: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agentcube-tunnel-bench",
    abstract: "Measure AgentCube tunnels against a running agentcubed.",
    discussion: """
      Needs a running agentcubed (TCP) with a 'sink' image whose command is
      `tcp-pump sink ${AGENTCUBE_ADDRESS} ${AGENTCUBE_PORT}`, and the tcp-pump and splice-relay
      binaries built from Benchmarks/. Sessions of runc sandboxes have no host address: give
      `throughput` a host-side sink with --sink for its baselines. See docs/benchmarks.md (tunnel section).
      """,
    subcommands: [Throughput.self, IdleTunnels.self])
}
