#!/usr/bin/env bash
# Fails (exit 1) when the committed protoc-c output in Sources/CAgentCubeProtobuf differs from what
# scripts/generate-protos.sh produces now from Protos/. Runs from any directory; changes nothing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
committed="$root/Sources/CAgentCubeProtobuf"
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT

"$root/scripts/generate-protos.sh" "$fresh"

list() { (cd "$1" && find . -type f \( -name '*.pb-c.h' -o -name '*.pb-c.c' \) -printf '%P\n' | LC_ALL=C sort); }

stale=0
if ! diff -u <(list "$committed") <(list "$fresh") >"$fresh/.files.diff"; then
  echo "error: the set of generated files differs (- committed, + fresh):" >&2
  cat "$fresh/.files.diff" >&2
  stale=1
fi
while read -r file; do
  if [ -f "$committed/$file" ] && ! diff -u "$committed/$file" "$fresh/$file" >&2; then
    stale=1
  fi
done < <(list "$fresh")

if [ "$stale" -ne 0 ]; then
  echo "error: Sources/CAgentCubeProtobuf is stale for Protos/ with $(protoc-c --version | head -n1);" \
    "run scripts/generate-protos.sh and commit the result" >&2
  exit 1
fi
echo "Sources/CAgentCubeProtobuf is fresh."

# The Python client's modules, from Debian 12's protoc (scripts/generate-python-protos.sh).
python_fresh="$fresh/python"
"$root/scripts/generate-python-protos.sh" "$python_fresh"
if ! diff -ru -x __init__.py -x __pycache__ "$root/clients/python/agentcube/v1" "$python_fresh/agentcube/v1" >&2; then
  echo "error: clients/python/agentcube/v1 is stale for Protos/; run scripts/generate-python-protos.sh and commit the result" >&2
  exit 1
fi
echo "clients/python/agentcube/v1 is fresh."
