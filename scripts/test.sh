#!/usr/bin/env bash
# Runs every test: the generated protobuf-c code must be fresh, then `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/check-protos-fresh.sh
swift build --build-tests
swift test --skip-build "$@"
