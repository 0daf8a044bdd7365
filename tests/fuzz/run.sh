#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS seconds (default 60) from a copy of
# its seed corpus, so the repository is never modified; prints executions and
# corpus growth per target and fails if any target finds a crash, a leak, a
# timeout (-timeout=10) or an out-of-memory (-rss_limit_mb=2048). Crashing
# inputs are kept in BUILD_DIR/fuzz-artifacts/.
#   tests/fuzz/run.sh build-fuzz 30
set -euo pipefail
build=$(cd "${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}" && pwd)
seconds=${2:-60}
corpus=$(cd "$(dirname "$0")" && pwd)/corpus
work=$(mktemp -d /tmp/nn_fuzz_run.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz-artifacts"
status=0
for target in fuzz_idx fuzz_cifar fuzz_model fuzz_qmodel fuzz_spec fuzz_onnx fuzz_png \
    fuzz_metrics; do
    cp -r "$corpus/$target" "$work/$target"
    start=$SECONDS
    result=ok
    (cd "$work" && "$build/tests/fuzz/$target" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$target-" "$work/$target" \
        >"$work/$target.log" 2>&1) || result=FAILED
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$target.log")
    echo "$target: $result, ${execs:-?} executions in $((SECONDS - start)) s," \
        "corpus $(ls "$corpus/$target" | wc -l) -> $(ls "$work/$target" | wc -l) inputs"
    if [ "$result" != ok ]; then
        status=1
        grep -v -E '^#[0-9]+.*(NEW|REDUCE|pulse)' "$work/$target.log" | tail -40
    fi
done
exit $status
