#!/usr/bin/env bash
# Runs the client suites against the real server: the Python package (pytest, in a venv under
# .build/clients-venv) and the C library (ctest, then again under ASan/UBSan and under valgrind).
# The server is $AGENTCUBED, else $AGENTCUBE_BIN_DIR/agentcubed, else the one `swift build` built here.
# Both suites also check Protos/testdata/vectors.txt, the vectors the Swift suite reads too.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

if [ -z "${AGENTCUBED:-}" ]; then
  AGENTCUBED="${AGENTCUBE_BIN_DIR:-$(swift build --show-bin-path)}/agentcubed"
fi
export AGENTCUBED
[ -x "$AGENTCUBED" ] || { echo "error: no server at $AGENTCUBED (run swift build first)" >&2; exit 1; }

step() { printf '\n== %s\n' "$*"; }

step "Python: pip install ./clients/python, pytest"
venv="$root/.build/clients-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./clients/python pytest paramiko
"$venv/bin/python" scripts/generate-protocol-vectors.py --check
# From the tests folder, so the installed package is the one imported, not the source tree.
(cd clients/python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)

c_suite() { # NAME CMAKE-OPTIONS...
  local build="$root/.build/clients-c-$1"
  shift
  cmake -S clients/c -B "$build" -DCMAKE_BUILD_TYPE=Debug "$@" >/dev/null
  cmake --build "$build" -j "$(nproc)" >/dev/null
  ctest --test-dir "$build" --output-on-failure
}
step "C: cmake, ctest"
c_suite plain
step "C: ctest under AddressSanitizer and UndefinedBehaviorSanitizer"
c_suite asan -DAGENTCUBE_SANITIZE=ON
step "C: ctest under valgrind (--leak-check=full --error-exitcode=1)"
c_suite valgrind -DAGENTCUBE_VALGRIND=ON
