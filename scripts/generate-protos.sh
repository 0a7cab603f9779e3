#!/usr/bin/env bash
# Regenerates the protoc-c output in Sources/CAgentCubeProtobuf from Protos/.
#
# Usage: scripts/generate-protos.sh [OUTPUT_DIR]
# Runs from any directory and is idempotent. OUTPUT_DIR (default Sources/CAgentCubeProtobuf) gets
# headers under include/agentcube/v1/ and sources under agentcube/v1/, the layout SwiftPM compiles;
# generated files (*.pb-c.h, *.pb-c.c) already there are replaced, so a removed .proto leaves none behind.
# Needs protoc-c (Debian: apt-get install protobuf-c-compiler).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/Sources/CAgentCubeProtobuf}"

if ! command -v protoc-c >/dev/null 2>&1; then
  echo "error: protoc-c not found; install protobuf-c-compiler (apt-get install protobuf-c-compiler)" >&2
  exit 1
fi

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT

# Paths relative to Protos/ so that the generated "Generated from:" lines and include guards do not
# depend on where the repository is checked out.
cd "$root/Protos"
mapfile -t protos < <(find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
if [ "${#protos[@]}" -eq 0 ]; then
  echo "error: no .proto files under $root/Protos" >&2
  exit 1
fi
protoc-c --c_out="$staging" -I. "${protos[@]}"

mkdir -p "$out"
find "$out" -type f \( -name '*.pb-c.h' -o -name '*.pb-c.c' \) -delete
find "$out" -mindepth 1 -type d -empty -delete
(
  cd "$staging"
  find . -type f -name '*.pb-c.h' -printf '%P\n' | while read -r header; do
    mkdir -p "$out/include/$(dirname "$header")"
    cp "$header" "$out/include/$header"
  done
  find . -type f -name '*.pb-c.c' -printf '%P\n' | while read -r source; do
    mkdir -p "$out/$(dirname "$source")"
    cp "$source" "$out/$source"
  done
)
