#!/usr/bin/env bash
# The test suite under the sanitizers (issue #16), each in its own scratch directory so that
# the normal .build is left alone:
#
#   Tools/sanitize.sh thread   [FILTER]   TSan; default filter: the concurrency tests
#   Tools/sanitize.sh address  [FILTER]   ASan (+ UBSan-style checks Swift adds); default: all tests
#   Tools/sanitize.sh all                 both, with their defaults
#
# Exit status non-zero if a sanitizer reports anything (halt_on_error) or a test fails.
# Slow (a full debug build per sanitizer, TSan runs ~5-15x slower): not part of .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-all}
filter=${2:-}

run_thread() {
    local f=${1:-'Threading|Concurrency|PublicAPI|Stream'}
    echo "== TSan: swift test --sanitize=thread --filter '$f'" >&2
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
        swift test --scratch-path .build/sanitize-thread --sanitize=thread --filter "$f"
}

run_address() {
    local f=${1:-}
    echo "== ASan: swift test --sanitize=address ${f:+--filter '$f'}" >&2
    # OpenBLAS / FFTW / libsndfile are not instrumented; leaks of their one-time plans and
    # thread pools are theirs, so leak detection is off (use-after-free, overflows are on).
    ASAN_OPTIONS="detect_leaks=0 halt_on_error=1 ${ASAN_OPTIONS:-}" \
        swift test --scratch-path .build/sanitize-address --sanitize=address ${f:+--filter "$f"}
}

case "$mode" in
    thread) run_thread "$filter" ;;
    address) run_address "$filter" ;;
    all) run_thread "" && run_address "" ;;
    *) echo "usage: $0 thread|address|all [FILTER]" >&2; exit 2 ;;
esac
