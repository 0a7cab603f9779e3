#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for a bounded time (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   fuzz every target (default 20 s each); fails on any crash,
#                                          property violation, leak, OOM or over-large allocation
#   scripts/fuzz.sh --seeds                rewrite Fuzz/Corpus/<target>/ from the targets' seed mode
#
# Each target starts from its committed seeds in Fuzz/Corpus/<target>/; what it finds goes to a
# scratch corpus under .build-fuzz/corpus/ (kept between runs, never committed), crashing inputs to
# .build-fuzz/artifacts/. Environment: FUZZ_TARGETS (default: all four), FUZZ_JOBS (targets run at
# once, default 1), FUZZ_MAX_LEN (default 4096 bytes).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(${FUZZ_TARGETS:-fuzz-frame fuzz-preface fuzz-envelope fuzz-messages})
scratch=.build-fuzz
bin="$scratch/release"

mkdir -p "$scratch"
echo "building the fuzz targets (log: $scratch/build.log)"
# SwiftPM's `--sanitize fuzzer --sanitize address` hands swiftc only the first, so the flags go
# straight to the compilers. lld, because gold's __start/__stop of the coverage sections span only
# the counters of one object file, leaving libFuzzer blind to the rest. -enable-testing for the
# envelope target's @testable import of the server's RequestEnvelopeLimits.
if ! (cd Fuzz && swift build -c release --scratch-path "../$scratch" \
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address -Xswiftc -use-ld=lld \
  -Xswiftc -enable-testing) >"$scratch/build.log" 2>&1; then
  tail -40 "$scratch/build.log"
  exit 1
fi

if [[ "${1:-}" == "--seeds" ]]; then
  for target in "${targets[@]}"; do
    # Inputs that once failed (crash-*.bin) are kept; the seeds are written anew.
    mkdir -p "Fuzz/Corpus/$target" && find "Fuzz/Corpus/$target" -name '*.bin' ! -name 'crash-*' -delete
    FUZZ_WRITE_SEEDS="Fuzz/Corpus/$target" "$bin/$target"
    echo "$target: $(ls "Fuzz/Corpus/$target" | wc -l) seeds"
  done
  exit 0
fi

seconds="${1:-20}"
# An input of at most 4 KiB may allocate at most 64 MiB at once and hold 2 GiB in all: the
# decoders must never size an allocation by a length they have not checked against the input.
options=(-max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-4096}" -rss_limit_mb=2048 -malloc_limit_mb=64
  -timeout=10 -print_final_stats=1)

run() {
  local target="$1" log="$scratch/logs/$1.log"
  mkdir -p "$scratch/corpus/$target" "$scratch/artifacts" "$scratch/logs"
  if "$bin/$target" "${options[@]}" -artifact_prefix="$scratch/artifacts/$target-" \
    "$scratch/corpus/$target" "Fuzz/Corpus/$target" >"$log" 2>&1; then
    local runs cov ft rate
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | grep -oE "cov: [0-9]+ ft: [0-9]+ corp: [^ ]+" || true)
    printf '%-14s ok  %10s executions  %7s exec/s  %s\n' "$target" "$runs" "$rate" "$cov"
  else
    printf '%-14s FAILED (see %s)\n' "$target" "$log"
    grep -E "property violated|ERROR: (AddressSanitizer|libFuzzer)|Test unit written" "$log" | head -5 || true
    return 1
  fi
}

echo "fuzzing ${targets[*]} for ${seconds} s each"
failed=0
pids=()
for target in "${targets[@]}"; do
  run "$target" &
  pids+=($!)
  if ((${#pids[@]} >= ${FUZZ_JOBS:-1})); then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
total=$(for target in "${targets[@]}"; do
  sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/logs/$target.log"
done | awk '{ total += $1 } END { print total + 0 }')
echo "total executions: $total"
exit "$failed"
