#!/usr/bin/env bash
# Runs every test: the generated protobuf-c and Python code must be fresh, then `swift test`, then the
# Python and C clients' suites against the server just built (scripts/test-clients.sh).
# The sandbox attack suite (fork and memory bombs, 50 sandboxes, a 20,500-deep tree) loads the
# machine on purpose, so it runs on its own after the rest. Arguments go to both `swift test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-protos-fresh.sh
swift build --build-tests
swift test --skip-build --skip SandboxSecurityTests "$@"
swift test --skip-build --filter SandboxSecurityTests "$@"
scripts/test-clients.sh
