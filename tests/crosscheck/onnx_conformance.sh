#!/usr/bin/env bash
# ONNX's conformance tests (Debian's libonnx-testdata) through libnn's
# importer: every node/ test of an operator libnn imports or folds (the
# directories named test_<operator>..., and test_constant_pad, test_edge_pad
# and test_reflect_pad) and every pytorch-converted/ test, each run by
# onnx_conform (one line: PASS, WRONG, REFUSED or SKIP). Prints the lines,
# the WRONG ones again, then the counts; exit 1 when any test is WRONG (a
# refusal is allowed).
#   onnx_conformance.sh ONNX_CONFORM [DATA_DIR]
set -u
driver=$1
data=${2:-/usr/share/libonnx-testdata/data}
ops="conv gemm matmul relu leakyrelu sigmoid tanh maxpool averagepool
globalaveragepool batchnorm dropout flatten reshape identity softmax
pad add"
ops="$ops sum concat reduce_mean slice transpose constantofshape"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dirs=()
declare -A seen
for op in $ops; do
    for d in "$data/node/test_$op"*/; do
        [ -f "$d/model.onnx" ] && dirs+=("${d%/}") && seen[$d]=1
    done
done
for d in "$data/node/"test_*_pad/ "$data/pytorch-converted/"test_*/; do
    [ -f "$d/model.onnx" ] && [ -z "${seen[$d]:-}" ] && dirs+=("${d%/}")
done
[ ${#dirs[@]} -gt 0 ] || {
    echo "onnx conformance: no tests under $data" >&2
    exit 1
}
for d in "${dirs[@]}"; do
    "$driver" "$d" "$tmp" 2>&1 || [ $? -eq 1 ] || echo "ERROR $(basename "$d"): the driver failed"
done >"$tmp/results"
cat "$tmp/results"
grep -E "^(WRONG|ERROR) " "$tmp/results"
count() { grep -c "^$1 " "$tmp/results"; }
wrong=$(($(count WRONG) + $(count ERROR)))
echo "onnx conformance: ${#dirs[@]} tests, $(count PASS) PASS, $(count WRONG) WRONG, $(count REFUSED) REFUSED, $(count SKIP) SKIP, $(count ERROR) ERROR"
[ "$wrong" -eq 0 ]
