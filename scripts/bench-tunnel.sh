#!/usr/bin/env bash
# Tunnel benchmark (docs/benchmarks.md (tunnel section)): builds agentcubed and agentcube-tunnel-bench in
# release and the C tools, starts agentcubed with a 'sink' image, then measures
#   1. throughput of a BYTES copy over direct, socat, splice-relay and AgentCube tunnel paths;
#   2. the server's memory with TUNNELS idle tunnels open.
# Environment: BYTES (1 GiB), REPETITIONS (5), TUNNELS (1000), PORT (17420, agentcubed's TCP port;
# relays use PORT+81..PORT+83), PATHS (all), SKIP_BUILD=1 to reuse the last release build,
# SERVE_ONLY=1 to start the server and wait (prints the bench command line; for profiling),
# AGENTCUBED=/path/to/agentcubed to measure another build (e.g. main's, for a before/after),
# PRIME_BYTES (1 MiB): bytes each tunnel sends before idling in the second memory measurement.
# Everything runs on loopback; the server and its sandboxes are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

BYTES=${BYTES:-1073741824}
REPETITIONS=${REPETITIONS:-5}
TUNNELS=${TUNNELS:-1000}
PORT=${PORT:-17420}
PATHS=${PATHS:-}
PRIME_BYTES=${PRIME_BYTES:-1048576}

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  swift build -c release --product agentcubed
  swift build -c release --product agentcube-tunnel-bench
fi
bin=$(swift build -c release --show-bin-path)
agentcubed=${AGENTCUBED:-$bin/agentcubed}

# Outside /root, /tmp and the state directory: sandboxes see this directory (read-only).
work=$(mktemp -d /var/tmp/agentcube-tunnel-bench.XXXXXX)
chmod 755 "$work"
server=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  # Sandboxes outlive a stopped server; the benchmark deletes its sessions, but if it was
  # interrupted, end the sinks it left (by pid: only processes running a binary from $work).
  for cmdline in /proc/[0-9]*/cmdline; do
    if [[ "$(tr '\0' ' ' <"$cmdline" 2>/dev/null)" == "$work/"* ]]; then
      pid=${cmdline#/proc/}
      kill -TERM "${pid%/cmdline}" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

cc -O2 -Wall -Wextra -pthread -o "$work/tcp-pump" Benchmarks/tcp-pump/tcp-pump.c
cc -O2 -Wall -Wextra -pthread -o "$work/splice-relay" Benchmarks/splice-relay/splice-relay.c

token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s,system:serviceaccount:bench:bench,uid-bench\n' "$token" >"$work/tokens.csv"
cat >"$work/images.json" <<JSON
{ "images": { "sink": {
  "command": ["$work/tcp-pump", "sink", "\${AGENTCUBE_ADDRESS}", "\${AGENTCUBE_PORT}"],
  "port": 7100, "readiness": "tcp" } } }
JSON

echo "## Machine"
echo "- nproc: $(nproc)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "- kernel: $(uname -r)"
echo "- swift: $(swift --version 2>/dev/null | head -1)"
echo "- agentcubed: $agentcubed"
echo "- socat: $(socat -V | grep -m1 'socat version')"
echo

# 1,000 tunnels hold 2,000 sockets in the server; raise its limit (root may raise the hard one).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
"$agentcubed" --unix-socket "" --tcp "127.0.0.1:$PORT" --state-dir "$work/state" \
  --token-auth-file "$work/tokens.csv" --images-file "$work/images.json" --log-level warning &
server=$!
for _ in $(seq 1 300); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  kill -0 "$server" || { echo "agentcubed exited" >&2; exit 1; }
  sleep 0.1
done

common=(--server "127.0.0.1:$PORT" --server-pid "$server" --token "$token")
if [[ "${SERVE_ONLY:-}" == 1 ]]; then
  echo "serving; run: $bin/agentcube-tunnel-bench throughput ${common[*]}" \
    "--tools $work --relay-port-base $((PORT + 80))"
  wait "$server"
  exit 0
fi
echo "## Throughput"
# shellcheck disable=SC2086 # PATHS is a list of words
"$bin/agentcube-tunnel-bench" throughput "${common[@]}" --tools "$work" --bytes "$BYTES" \
  --repetitions "$REPETITIONS" --relay-port-base "$((PORT + 80))" ${PATHS:+--paths $PATHS}
echo
echo "## Idle tunnels"
"$bin/agentcube-tunnel-bench" idle-tunnels "${common[@]}" --tunnels "$TUNNELS"
echo
"$bin/agentcube-tunnel-bench" idle-tunnels "${common[@]}" --tunnels "$TUNNELS" --prime-bytes "$PRIME_BYTES"
