#!/usr/bin/env bash
# Regenerates the Python protobuf modules of clients/python (agentcube/v1/*_pb2.py) from Protos/.
#
# Usage: scripts/generate-python-protos.sh [OUTPUT_DIR]
# OUTPUT_DIR (default clients/python) gets agentcube/v1/<name>_pb2.py for each .proto, the import
# path protoc gives them. Pinned to Debian 12's protoc (protobuf-compiler 3.21.12): its output runs
# on the protobuf Python runtime 3.20 and later, so the client can depend on a wide range.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/clients/python}"
pinned="libprotoc 3.21.12"

if ! command -v protoc >/dev/null 2>&1; then
  echo "error: protoc not found; install protobuf-compiler (apt-get install protobuf-compiler)" >&2
  exit 1
fi
if [ "$(protoc --version)" != "$pinned" ]; then
  echo "error: $(protoc --version) found, the committed modules come from $pinned (Debian 12's protobuf-compiler)" >&2
  exit 1
fi

cd "$root/Protos"
mapfile -t protos < <(find . -name '*.proto' -printf '%P\n' | LC_ALL=C sort)
mkdir -p "$out/agentcube/v1"
find "$out/agentcube/v1" -maxdepth 1 -name '*_pb2.py' -delete
protoc --python_out="$out" -I. "${protos[@]}"
