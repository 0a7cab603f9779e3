#!/usr/bin/env bash
# Tunnel benchmark (docs/benchmarks.md (tunnel section)): builds agentcubed and agentcube-tunnel-bench in
# release and the C tools, starts agentcubed with a 'sink' image and a host-side sink, then measures
#   1. throughput of a BYTES copy over direct, socat, splice-relay and AgentCube tunnel paths;
#   2. the server's memory with TUNNELS idle tunnels open.
# Environment: BYTES (1 GiB), REPETITIONS (5), TUNNELS (1000), PORT (17420, agentcubed's TCP port;
# relays use PORT+81..PORT+83), PATHS (all), SKIP_BUILD=1 to reuse the last release build,
# SERVE_ONLY=1 to start the server and wait (prints the bench command line; for profiling),
# AGENTCUBED=/path/to/agentcubed to measure another build (e.g. main's, for a before/after),
# PRIME_BYTES (1 MiB): bytes each tunnel sends before idling in the second memory measurement,
# SCRATCH_PATH (.build): swift build --scratch-path, so that runs do not share another build's .build.
# Needs root: sandboxes are runc containers. They see the host's /usr and /etc read-only and nothing
# else of it, so the sandbox's tcp-pump is copied to a temporary directory under /usr/local/libexec.
# A sandbox listens on 127.0.0.1 of its own network only: the tunnel paths reach it through
# OpenTunnel; the baselines (direct, socat, splice, direct-swift) go to the same tcp-pump sink run
# on the host's 127.0.0.1:PORT+84.
# Everything runs on loopback; the server, the host sink and the sandboxes are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

BYTES=${BYTES:-1073741824}
REPETITIONS=${REPETITIONS:-5}
TUNNELS=${TUNNELS:-1000}
PORT=${PORT:-17420}
PATHS=${PATHS:-}
PRIME_BYTES=${PRIME_BYTES:-1048576}

SCRATCH_PATH=${SCRATCH_PATH:-.build}
SINK_PORT=$((PORT + 84))

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  swift build -c release --scratch-path "$SCRATCH_PATH" --product agentcubed
  swift build -c release --scratch-path "$SCRATCH_PATH" --product agentcube-tunnel-bench
fi
bin=$(swift build -c release --scratch-path "$SCRATCH_PATH" --show-bin-path)
agentcubed=${AGENTCUBED:-$bin/agentcubed}

# The state directory's ancestors must be searchable by others (a sandbox's root is another uid)
# and not writable by them (/var/tmp is sticky).
work=$(mktemp -d /var/tmp/agentcube-tunnel-bench.XXXXXX)
chmod 711 "$work"
# What the sandbox runs must be under /usr, the one host tree it sees besides /etc.
mkdir -p /usr/local/libexec
tools=$(mktemp -d /usr/local/libexec/agentcube-tunnel-bench.XXXXXX)
chmod 755 "$tools"
server=""
host_sink=""
cleanup() {
  if [[ -n "$server" ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  if [[ -n "$host_sink" ]]; then
    kill -TERM "$host_sink" 2>/dev/null || true
    wait "$host_sink" 2>/dev/null || true
  fi
  # Sandboxes outlive a stopped server; the benchmark deletes its sessions, but if it was
  # interrupted, delete the containers left in this run's runc root and unmount their workspaces.
  if [[ -d "$work/state/runc" ]]; then
    for id in $(runc --root "$work/state/runc" list -q 2>/dev/null); do
      runc --root "$work/state/runc" delete --force "$id" 2>/dev/null || true
    done
  fi
  awk -v prefix="$work/" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
  rm -rf "$work" "$tools"
}
trap cleanup EXIT

cc -O2 -Wall -Wextra -pthread -o "$work/tcp-pump" Benchmarks/tcp-pump/tcp-pump.c
cc -O2 -Wall -Wextra -pthread -o "$work/splice-relay" Benchmarks/splice-relay/splice-relay.c
install -m 755 "$work/tcp-pump" "$tools/tcp-pump"

token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s,system:serviceaccount:bench:bench,uid-bench\n' "$token" >"$work/tokens.csv"
cat >"$work/images.json" <<JSON
{ "images": { "sink": {
  "command": ["$tools/tcp-pump", "sink", "\${AGENTCUBE_ADDRESS}", "\${AGENTCUBE_PORT}"],
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
# The baselines' sink: the same binary on the host's loopback.
"$work/tcp-pump" sink 127.0.0.1 "$SINK_PORT" &
host_sink=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null; then break; fi
  sleep 0.05
done
# One caller holds all the idle tunnels: lift the per-caller tunnel limit (an environment variable,
# which an older agentcubed given as AGENTCUBED ignores).
AGENTCUBE_MAX_TUNNELS_PER_IDENTITY=$((TUNNELS + 64)) \
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
    "--tools $work --sink 127.0.0.1:$SINK_PORT --relay-port-base $((PORT + 80))"
  wait "$server"
  exit 0
fi
echo "## Throughput"
# shellcheck disable=SC2086 # PATHS is a list of words
"$bin/agentcube-tunnel-bench" throughput "${common[@]}" --tools "$work" --sink "127.0.0.1:$SINK_PORT" --bytes "$BYTES" \
  --repetitions "$REPETITIONS" --relay-port-base "$((PORT + 80))" ${PATHS:+--paths $PATHS}
echo
echo "## Idle tunnels"
"$bin/agentcube-tunnel-bench" idle-tunnels "${common[@]}" --tunnels "$TUNNELS"
echo
"$bin/agentcube-tunnel-bench" idle-tunnels "${common[@]}" --tunnels "$TUNNELS" --prime-bytes "$PRIME_BYTES"
