#!/usr/bin/env bash
# Runs agentcubed on the embedded default (local sandboxes, development token file).
# Extra arguments go to agentcubed (see `swift run agentcubed --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
exec swift run agentcubed "$@"
