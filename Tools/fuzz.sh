#!/usr/bin/env bash
# libFuzzer runs (issue #16): builds the fuzz targets with -sanitize=fuzzer,address in
# .build/fuzz (the normal build is untouched) and runs each for a set time on a copy of its
# committed seed corpus (Fuzz/corpus/<target>); crashes land in .build/fuzz/crashes.
#
#   Tools/fuzz.sh [SECONDS=600] [TARGET...]
#
# targets (default: all): FuzzGGUF FuzzAudio FuzzDataSet FuzzHotwords FuzzStream
# FUZZ_ARGS: more libFuzzer flags (e.g. "-len_control=0 -max_len=600" for the slow targets,
# whose input length limit otherwise grows only a few bytes in ten minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
if [ $# -eq 0 ]; then targets=(FuzzGGUF FuzzAudio FuzzDataSet FuzzHotwords FuzzStream); else targets=("$@"); fi

export PARAFORMER_FUZZ=1
flags=(-c debug --scratch-path .build/fuzz -Xswiftc -sanitize=fuzzer,address)
for t in "${targets[@]}"; do swift build "${flags[@]}" --product "$t"; done
bin=$(swift build "${flags[@]}" --show-bin-path)

mkdir -p .build/fuzz/crashes
status=0
for t in "${targets[@]}"; do
    work=.build/fuzz/corpus/$t
    mkdir -p "$work"
    cp -n Fuzz/corpus/$t/* "$work"/ 2>/dev/null || true
    echo "== $t for $seconds s" >&2
    # Swift's own backtracer would run inside ASan's signal handler (and report itself):
    # libFuzzer prints the stack of a trap.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=0 ${ASAN_OPTIONS:-}" \
        "$bin/$t" "$work" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix=.build/fuzz/crashes/"$t"- ${FUZZ_ARGS:-} || status=1
done
exit $status
