#!/usr/bin/env bash
# The cross-checks against other engines, apart from the test suite because
# they need large packages a C user should not have to download to run
# libnn's tests: ONNX Runtime (onnxruntime-node from the npm registry),
# onnx's checker, PyTorch, NumPy and SciPy (Debian's python3-* packages,
# run with /usr/bin/python3). Installs what is missing, builds, and checks:
#   - presets trained a little, exported to ONNX: onnx.checker (full check)
#     accepts them, and ONNX Runtime's outputs on the 10,000 Fashion-MNIST
#     test images match libnn's within 1e-5 relative, same class for all
#     (resnet-small among them; resnet20 and the VGGs on generated CIFAR
#     data);
#   - .nnm -> .onnx -> .nnm gives the same file, byte for byte;
#   - the .npy and .mat weight dumps load in NumPy and SciPy with the
#     shapes and bits of the ONNX initializers;
#   - PyTorch nets like the presets (and one with batchnorm, average
#     pooling, leaky relu and dropout), exported by torch.onnx, import into
#     libnn and give PyTorch's outputs within 1e-5; so do two small ResNets
#     (a max-pooling stem, identity, 1x1-convolution and zero-padded
#     shortcuts, a pre-activation block, x.mean([2, 3]) or adaptive pooling,
#     Gemm or MatMul), their probabilities against the softmax of libnn's
#     logits;
#   - an imported PyTorch net fine-tuned with --init gets more accurate;
#   - int8: lenet, deep-bn, the mixed net and a residual one quantized by
#     nn_convert --int8 --calibrate (1000 training images), exported as
#     ONNX QDQ (QLinearConv, QuantizeLinear / DequantizeLinear around the
#     float ops): onnx.checker accepts them and ONNX Runtime gives libnn's
#     int8 class on >= 99.5% of the 10,000 test images (lenet, deep-bn;
#     >= 99% for mixed, >= 98% for the residual net, whose undertrained
#     logits are close together), the logit differences in units of
#     the output's scale; the same for the mixed net's int8 model changed
#     (tests/crosscheck/qmodel_variant.c) to export a Relu, a Clip and a
#     Gather;
#   - ONNX's own conformance tests (Debian's libonnx-testdata) of the
#     operators libnn imports: none imports to a different function (each
#     passes within 1e-4 or is refused with one line saying why).
# Ends with "N passed, M failed"; exit 1 when any check failed.
set -u
NN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$NN_ROOT/tests/packages.sh"
nn_need_packages cmake gcc make libcmocka-dev dataset-fashion-mnist \
    python3-onnx python3-torch python3-numpy python3-scipy libonnx-testdata
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    nn_need_packages nodejs npm
nn_build "$NN_ROOT/build" -DCMAKE_BUILD_TYPE=Release -DNN_BUILD_TESTS=ON >/dev/null
node_dir=$NN_ROOT/build/crosscheck-node
if [ ! -d "$node_dir/node_modules/onnxruntime-node" ]; then
    mkdir -p "$node_dir"
    # The variable skips a post-install download of GPU providers; the CPU
    # library ships inside the package.
    (cd "$node_dir" && ONNXRUNTIME_NODE_INSTALL=skip npm install --silent \
        --no-audit --no-fund onnxruntime-node >/dev/null) || {
        echo "crosscheck: cannot install onnxruntime-node" >&2
        exit 1
    }
fi
export NODE_PATH=$node_dir/node_modules
py=/usr/bin/python3
here=$NN_ROOT/tests/crosscheck
bin=$NN_ROOT/build/examples
dump=$NN_ROOT/build/tests/nn_dump
fm=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passes=0
failures=0

check() { # check NAME COMMAND...: passes when the command exits 0
    local name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        passes=$((passes + 1))
        sed "s/^/  /" "$tmp/out" | grep -v "^  $" | tail -3
    else
        failures=$((failures + 1))
        echo "FAIL $name"
        sed "s/^/  | /" "$tmp/out" | tail -15
    fi
}

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

echo "== libnn -> ONNX -> ONNX Runtime, on the Fashion-MNIST test set"
mixed="conv3x3x8p1,bn,leakyrelu0.1,avgpool3s2p1,conv3x3x16p1,bn,relu,dropout0.3,gap,dense32,bn,tanh,dense10"
for model in mlp lenet deep deep-bn "$mixed" resnet-small; do
    name=${model%%,*}
    [ "$model" = "$mixed" ] && name=mixed
    check "train $name" "$bin/mnist_train" --data "$fm" --model "$model" --epochs 1 \
        --limit 2000 --batch 32 --save "$tmp/$name.nnm" --quiet
    check "export $name" "$bin/nn_convert" "$tmp/$name.nnm" "$tmp/$name.onnx"
    check "onnx checker $name" $py -c "import onnx, sys; m = onnx.load(sys.argv[1]); \
onnx.checker.check_model(m, full_check=True); print('onnx.checker: ok,', len(m.graph.node), 'nodes')" \
        "$tmp/$name.onnx"
    check "libnn $name" "$dump" "$tmp/$name.nnm" --idx "$fm/t10k-images-idx3-ubyte.gz" \
        "$fm/t10k-labels-idx1-ubyte.gz" "$tmp/$name.x.f32" "$tmp/$name.libnn.f32"
    check "ONNX Runtime $name" node "$here/ort.js" run "$tmp/$name.onnx" "$tmp/$name.x.f32" \
        10000 1 28 28 "$tmp/$name.ort.f32"
    check "compare $name" $py "$here/compare.py" "libnn vs ONNX Runtime, $name" \
        "$tmp/$name.libnn.f32" "$tmp/$name.ort.f32" 10 1e-5 "$fm/t10k-labels-idx1-ubyte.gz"
    check "round trip $name" sh -c "'$bin/nn_convert' '$tmp/$name.onnx' '$tmp/$name.back.nnm' && \
cmp '$tmp/$name.nnm' '$tmp/$name.back.nnm' && echo '.nnm -> .onnx -> .nnm: identical files'"
    check "weights $name" sh -c "'$bin/nn_convert' '$tmp/$name.nnm' '$tmp/$name.npy/' && \
'$bin/nn_convert' '$tmp/$name.nnm' '$tmp/$name.mat' && \
$py '$here/weights.py' '$tmp/$name.onnx' '$tmp/$name.npy' '$tmp/$name.mat'"
done
echo "== int8: nn_convert --int8 -> ONNX (QDQ) -> ONNX Runtime, on the Fashion-MNIST test set"
residual="conv3x3x8p1,bn,relu@a,conv3x3x8p1,bn,leakyrelu0.1,conv3x3x8p1,add(a),relu@r,avgpool3s2p1@p,conv1x1x8s2(r)@s,concat(p,s),bn,conv3x3x12p1,sigmoid,avgpool3s2p1e,pool2s2,conv3x3x10p1,tanh,gap,dense10"
check "train residual" "$bin/mnist_train" --data "$fm" --model "$residual" --epochs 1 \
    --limit 2000 --batch 32 --save "$tmp/residual.nnm" --quiet
for name in lenet deep-bn mixed residual; do
    agreement=0.995
    case $name in mixed) agreement=0.99 ;; residual) agreement=0.98 ;; esac
    q=$tmp/$name.int8
    check "int8 quantize $name" "$bin/nn_convert" "$tmp/$name.nnm" "$q.nnm" --int8 \
        --calibrate "$fm" --calibrate-count 1000
    check "int8 export $name" "$bin/nn_convert" "$q.nnm" "$q.onnx"
    check "int8 onnx checker $name" $py -c "import onnx, sys; m = onnx.load(sys.argv[1]); \
onnx.checker.check_model(m, full_check=True); \
print('onnx.checker: ok,', len(m.graph.node), 'nodes:', ' '.join(sorted({n.op_type for n in m.graph.node})))" \
        "$q.onnx"
    check "libnn int8 $name" "$dump" "$q.nnm" --idx "$fm/t10k-images-idx3-ubyte.gz" \
        "$fm/t10k-labels-idx1-ubyte.gz" "$q.x.f32" "$q.libnn.f32"
    check "ONNX Runtime int8 $name" node "$here/ort.js" run "$q.onnx" "$q.x.f32" \
        10000 1 28 28 "$q.ort.f32"
    check "compare int8 $name" $py "$here/qcompare.py" "libnn int8 vs ONNX Runtime, $name" \
        "$q.libnn.f32" "$q.ort.f32" "$q.onnx" "$fm/t10k-labels-idx1-ubyte.gz" $agreement
done
# The exporter's paths trained nets do not take: a relu folded where the
# zero point is above 0 (Relu), a narrower clamp (Clip), a table of an
# unknown function (Gather), on the mixed net's int8 model changed so.
q=$tmp/mixed.variant
check "int8 variant" "$NN_ROOT/build/tests/qmodel_variant" "$tmp/mixed.int8.nnm" "$q.nnm"
check "int8 export variant" "$bin/nn_convert" "$q.nnm" "$q.onnx"
check "int8 onnx checker variant" $py -c "import onnx, sys; m = onnx.load(sys.argv[1]); \
onnx.checker.check_model(m, full_check=True); ops = {n.op_type for n in m.graph.node}; \
assert {'Relu', 'Clip', 'Gather'} <= ops, ops; print('onnx.checker: ok,', ' '.join(sorted(ops)))" "$q.onnx"
check "libnn int8 variant" "$dump" "$q.nnm" --idx "$fm/t10k-images-idx3-ubyte.gz" \
    "$fm/t10k-labels-idx1-ubyte.gz" "$q.x.f32" "$q.libnn.f32"
check "ONNX Runtime int8 variant" node "$here/ort.js" run "$q.onnx" "$q.x.f32" 10000 1 28 28 "$q.ort.f32"
check "compare int8 variant" $py "$here/qcompare.py" "libnn int8 vs ONNX Runtime, mixed variant" \
    "$q.libnn.f32" "$q.ort.f32" "$q.onnx" "$fm/t10k-labels-idx1-ubyte.gz" 0.99
check "int8 softmax export" sh -c "'$bin/nn_convert' --softmax '$tmp/lenet.int8.nnm' '$tmp/lenet.int8.sm.onnx' && \
node '$here/ort.js' run '$tmp/lenet.int8.sm.onnx' '$tmp/lenet.int8.x.f32' 10000 1 28 28 '$tmp/lenet.int8.p.f32' && \
$py -c \"import numpy as np, sys; p = np.fromfile(sys.argv[1], '<f4').reshape(-1, 10); \
assert abs(p.sum(1) - 1).max() < 1e-5; print('int8 softmax output: rows sum to 1')\" '$tmp/lenet.int8.p.f32'"

echo "== the CIFAR-10 presets (3x32x32), on generated CIFAR-format data"
$py - "$tmp/cifar" <<'PY'
import os, sys
import numpy as np
rng = np.random.default_rng(7)
os.makedirs(sys.argv[1], exist_ok=True)
for name in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    records = np.empty((40, 3073), np.uint8)
    records[:, 0] = rng.integers(0, 10, 40)
    records[:, 1:] = rng.integers(0, 256, (40, 3072))
    records.tofile(os.path.join(sys.argv[1], name))
np.clip(rng.normal(size=(64, 3, 32, 32)), -3, 3).astype("<f4").tofile(os.path.join(sys.argv[1], "x.f32"))
PY
for name in vgg vgg-gap resnet20; do
    check "train $name" "$bin/cifar10_train" --data "$tmp/cifar" --model "$name" --epochs 1 \
        --batch 32 --save "$tmp/$name.nnm" --quiet
    check "export $name" "$bin/nn_convert" "$tmp/$name.nnm" "$tmp/$name.onnx"
    check "onnx checker $name" $py -c "import onnx, sys; m = onnx.load(sys.argv[1]); \
onnx.checker.check_model(m, full_check=True); print('onnx.checker: ok,', len(m.graph.node), 'nodes')" \
        "$tmp/$name.onnx"
    check "libnn $name" "$dump" "$tmp/$name.nnm" --inputs "$tmp/cifar/x.f32" 64 "$tmp/$name.libnn.f32"
    check "ONNX Runtime $name" node "$here/ort.js" run "$tmp/$name.onnx" "$tmp/cifar/x.f32" \
        64 3 32 32 "$tmp/$name.ort.f32"
    check "compare $name" $py "$here/compare.py" "libnn vs ONNX Runtime, $name" \
        "$tmp/$name.libnn.f32" "$tmp/$name.ort.f32" 10 1e-5
done

check "softmax export" sh -c "'$bin/nn_convert' --softmax '$tmp/lenet.nnm' '$tmp/lenet.sm.onnx' && \
node '$here/ort.js' run '$tmp/lenet.sm.onnx' '$tmp/lenet.x.f32' 10000 1 28 28 '$tmp/lenet.p.f32' && \
$py -c \"import numpy as np, sys; p = np.fromfile(sys.argv[1], '<f4').reshape(-1, 10); \
assert abs(p.sum(1) - 1).max() < 1e-5; print('softmax output: rows sum to 1')\" '$tmp/lenet.p.f32'"

echo "== PyTorch -> ONNX -> libnn"
check "torch export" $py "$here/torch_models.py" "$tmp/torch"
for name in mlp lenet deep mixed; do
    check "import $name" "$dump" "$tmp/torch/$name.onnx" --inputs "$tmp/torch/$name.in.f32" 32 \
        "$tmp/torch/$name.libnn.f32"
    check "compare torch $name" $py "$here/compare.py" "libnn vs PyTorch, $name" \
        "$tmp/torch/$name.libnn.f32" "$tmp/torch/$name.out.f32" 10 1e-5
done

for name in resnet_b resnet_a; do
    check "import $name" "$dump" "$tmp/torch/$name.onnx" --inputs "$tmp/torch/$name.in.f32" 32 \
        "$tmp/torch/$name.libnn.f32"
    check "compare torch $name" $py "$here/compare.py" --softmax "libnn vs PyTorch, $name" \
        "$tmp/torch/$name.libnn.f32" "$tmp/torch/$name.out.f32" 10 1e-5
done

echo "== fine-tuning an imported PyTorch net with --init"
check "before fine-tuning" "$dump" "$tmp/torch/lenet.onnx" --idx "$fm/t10k-images-idx3-ubyte.gz" \
    "$fm/t10k-labels-idx1-ubyte.gz" "$tmp/ft.x.f32" "$tmp/ft.before.f32"
check "fine-tune" "$bin/mnist_train" --data "$fm" --init "$tmp/torch/lenet.onnx" --epochs 1 \
    --limit 10000 --save "$tmp/ft.nnm" --quiet
check "after fine-tuning" "$dump" "$tmp/ft.nnm" --idx "$fm/t10k-images-idx3-ubyte.gz" \
    "$fm/t10k-labels-idx1-ubyte.gz" "$tmp/ft.x2.f32" "$tmp/ft.after.f32"
check "accuracy rises" $py - "$tmp/ft.before.f32" "$tmp/ft.after.f32" "$fm/t10k-labels-idx1-ubyte.gz" <<'PY'
import gzip, sys
import numpy as np
labels = np.frombuffer(gzip.open(sys.argv[3]).read()[8:], dtype=np.uint8)
before, after = (100 * float((np.fromfile(f, "<f4").reshape(-1, 10).argmax(1) == labels).mean())
                 for f in sys.argv[1:3])
print(f"imported PyTorch lenet: test accuracy {before:.2f}% before, {after:.2f}% after one epoch on 10,000 images")
assert after > before + 20
PY

echo "== ONNX's conformance tests through the importer"
check "onnx conformance" "$here/onnx_conformance.sh" "$NN_ROOT/build/tests/onnx_conform"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
