#!/usr/bin/env bash
# End-to-end checks of the command-line programs:
#   test_cli.sh BUILD_EXAMPLES_DIR
# cifar10_train on generated files in the real CIFAR-10 binary layout, a
# save -> predict round trip, a table of bad flags, special files and
# unwritable outputs with their exit codes and messages, and --resume.
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0

check() { # check NAME EXPECTED_EXIT COMMAND...
    local name=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then
        passes=$((passes + 1))
    else
        failures=$((failures + 1))
        echo "FAIL $name: exit $got, expected $want"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | tail -15
    fi
}

expect_output() { # expect_output NAME PATTERN (in the last command's stdout+stderr)
    if grep -qE -- "$2" "$tmp/out" "$tmp/err"; then
        passes=$((passes + 1))
    else
        failures=$((failures + 1))
        echo "FAIL $1: no line matches /$2/"
    fi
}

# CIFAR-10 binary layout: records of 1 label byte + 3072 pixel bytes
# (R, G, B planes of 32x32). Class k is the colour of a central square (one
# of ten RGB combinations), on noise: random crops and flips keep it, so a
# small net can learn it.
mkdir -p "$tmp/cifar"
python3 - "$tmp/cifar" <<'PY'
import os, random, sys
random.seed(7)
levels = [(r, g, b) for r in (30, 220) for g in (30, 220) for b in (30, 125, 220)][:10]
def batch(path, n):
    out = bytearray()
    for _ in range(n):
        k = random.randrange(10)
        img = [random.randrange(64) for _ in range(3 * 1024)]
        for c in range(3):
            for y in range(8, 24):
                for x in range(8, 24):
                    img[c * 1024 + y * 32 + x] = levels[k][c]
        out.append(k)
        out.extend(img)
    open(path, "wb").write(out)
for i in range(1, 6):
    batch(os.path.join(sys.argv[1], "data_batch_%d.bin" % i), 100)
batch(os.path.join(sys.argv[1], "test_batch.bin"), 100)
PY

small="conv3x3x8p1,bn,relu,pool2,conv3x3x8p1,relu,pool4,dense10"
check cifar10_train 0 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 6 --batch 16 --lr 0.05 --json "$tmp/c.json" --save "$tmp/c.nnm"
expect_output cifar_accuracy_line "test accuracy: [0-9.]+%"
expect_output cifar_class_names "airplane"
for kernels in portable reference; do
    check "cifar10_train_kernels_$kernels" 0 "$bin/cifar10_train" --data "$tmp/cifar" \
        --model "$small" --epochs 1 --batch 16 --kernels "$kernels" --quiet
done
python3 - "$tmp/c.json" >"$tmp/out" 2>"$tmp/err" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert len(m["epochs"]) == 6, m["epochs"]
for e in m["epochs"]:
    for key in ("train_loss", "train_accuracy", "test_accuracy", "seconds", "images_per_second"):
        assert key in e, key
assert m["test_accuracy"] > 0.5, m["test_accuracy"]
print("cifar test accuracy", m["test_accuracy"])
PY
check_json=$?
if [ $check_json -eq 0 ]; then passes=$((passes + 1)); else failures=$((failures + 1)); echo "FAIL cifar json"; cat "$tmp/err"; fi
cat "$tmp/out"

# A CIFAR test image as a PPM, classified by the saved model.
python3 - "$tmp/cifar/test_batch.bin" "$tmp/img.ppm" <<'PY'
import sys
rec = open(sys.argv[1], "rb").read()[:3073]
pix = rec[1:]
rgb = bytes(pix[c * 1024 + i] for i in range(1024) for c in range(3))
open(sys.argv[2], "wb").write(b"P6\n32 32\n255\n" + rgb)
print(rec[0])
PY
check predict_ppm 0 "$bin/predict" "$tmp/c.nnm" "$tmp/img.ppm"
expect_output predict_prints_class "img.ppm: class [0-9]"
printf 'P5\n32 32\n255\n' >"$tmp/gray.pgm"
check predict_wrong_channels 1 "$bin/predict" "$tmp/c.nnm" "$tmp/gray.pgm"
head -c 100 "$tmp/c.nnm" >"$tmp/cut.nnm"
check predict_truncated_model 1 "$bin/predict" "$tmp/cut.nnm" "$tmp/img.ppm"

# int8: convert with calibration on the CIFAR folder, sizes printed; the
# int8 file classifies the image and evaluates the test split; the trainer
# refuses to resume from it.
check int8_convert 0 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/c8.nnm" --int8 \
    --calibrate "$tmp/cifar" --calibrate-count 200
expect_output int8_convert_sizes "c.nnm: [0-9]+ bytes \(fp32\) -> .*c8.nnm: [0-9]+ bytes \(int8\), [0-9.]+x smaller"
check int8_predict_ppm 0 "$bin/predict" "$tmp/c8.nnm" "$tmp/img.ppm"
expect_output int8_predict_prints_class "img.ppm: class [0-9]"
check int8_eval 0 "$bin/predict" "$tmp/c8.nnm" --eval "$tmp/cifar"
expect_output int8_eval_accuracy "accuracy: [0-9]+ of 100 test images = [0-9.]+% \(int8 model"
check fp32_eval 0 "$bin/predict" "$tmp/c.nnm" --eval "$tmp/cifar"
expect_output fp32_eval_accuracy "accuracy: [0-9]+ of 100 test images = [0-9.]+% \(fp32 model"
check int8_convert_needs_data 2 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/c9.nnm" --int8
expect_output int8_convert_needs_data_msg "--int8 needs --calibrate DATA"
check int8_convert_wrong_shape 1 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/c9.nnm" \
    --int8 --calibrate "$tmp/mnist_for_int8_missing"
check int8_not_convertible_again 1 "$bin/nn_convert" "$tmp/c8.nnm" "$tmp/c9.mat"
expect_output int8_not_convertible_msg "an int8 model can be run, not trained"
# but written as ONNX (QDQ) or C it is (docs/FORMAT.md, docs/COMPILE_C.md)
check int8_to_onnx 0 "$bin/nn_convert" "$tmp/c8.nnm" "$tmp/c9.onnx"
check int8_to_c 0 "$bin/nn_convert" "$tmp/c8.nnm" "$tmp/c9.c"
expect_output int8_to_c_sizes "int8, constant data [0-9]+ bytes, working memory"

# Small MNIST-format sets (IDX files): make_mnist DIR TRAIN TEST writes
# TRAIN training and TEST test images, class k a bright row 2 + 2k on noise.
make_mnist() {
    python3 "$(dirname "$0")/make_mnist.py" "$@"
}
make_mnist "$tmp/mnist" 200 50

# Training-health diagnostics: runs broken on purpose raise the right
# warning, a healthy run none, and --no-diagnostics silences them.
diag() { # diag NAME ARGS...: mnist_train on the small set, 1 thread
    local name=$1
    shift
    check "diagnostics_$name" 0 "$bin/mnist_train" --data "$tmp/mnist" --batch 16 \
        --threads 1 "$@"
}
no_warning() { # no_warning NAME: the last run printed no warning
    if grep -q "^warning:" "$tmp/out" "$tmp/err"; then
        failures=$((failures + 1))
        echo "FAIL $1: a warning was printed"
        grep "^warning:" "$tmp/out" "$tmp/err" | head -3
    else
        passes=$((passes + 1))
    fi
}
diag healthy_mlp --model mlp --epochs 4 --report "$tmp/healthy"
no_warning diagnostics_healthy_mlp
diag healthy_lenet --model lenet --epochs 3
no_warning diagnostics_healthy_lenet
diag lr_too_high --model mlp --epochs 2 --optimizer sgd --lr 50
expect_output diagnostics_exploding "^warning: exploding updates in epoch 1: the weights of layer 0 \(dense\)"
deep_sigmoid=dense32,sigmoid,dense32,sigmoid,dense32,sigmoid,dense32,sigmoid,dense32,sigmoid,dense10
diag deep_sigmoid --model "$deep_sigmoid" --lr 0.01 --epochs 3 --report "$tmp/sigmoid"
expect_output diagnostics_vanishing "^warning: vanishing gradients after epoch 1"
expect_output diagnostics_chance "^warning: train loss 2\.[0-9]+ after epoch [23] is at chance level \(ln\(10\) = 2\.3026\)"
diag deep_sigmoid_quiet --model "$deep_sigmoid" --lr 0.01 --epochs 3 --no-diagnostics
no_warning diagnostics_off
# The first layer made dead: an mlp whose first biases are all -1000.
diag dead_source --model mlp --epochs 1 --save "$tmp/alive.nnm" --quiet
python3 - "$tmp/alive.nnm" "$tmp/dead.nnm" <<'PY'
import struct, sys, zlib
b = bytearray(open(sys.argv[1], "rb").read())
params = 52 + struct.unpack_from("<I", b, 48)[0] + 8  # docs/FORMAT.md
for k in range(100):  # mlp: dense100 (784 x 100 weights, then biases) first
    struct.pack_into("<f", b, params + 4 * (784 * 100 + k), -1000.0)
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
open(sys.argv[2], "wb").write(b)
PY
diag dead_relu --init "$tmp/dead.nnm" --epochs 2
expect_output diagnostics_dead "^warning: dead units after epoch 1: 100% of layer 1's \(relu\) units"
python3 - "$tmp/healthy/metrics.json" "$tmp/sigmoid" >"$tmp/out" 2>"$tmp/err" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["diagnostics"]
assert d["warnings"] == [], d["warnings"]
assert [e["epoch"] for e in d["epochs"]] == [1, 2, 3, 4], d["epochs"]
layers = d["epochs"][-1]["layers"]
assert [l["kind"] for l in layers] == ["dense", "relu", "dense"], layers
assert layers[0]["weight_norm"] > 0 and layers[0]["grad_norm"] > 0, layers
assert 0 < layers[0]["update_ratio"] < 1 and layers[0]["dead"] is None, layers
assert 0 <= layers[1]["dead"] < 0.5 and layers[1]["grad_norm"] is None, layers
s = json.load(open(sys.argv[2] + "/metrics.json"))["diagnostics"]
assert {"vanishing", "chance"} <= {w["kind"] for w in s["warnings"]}, s
html = open(sys.argv[2] + "/index.html").read()
assert html.index("<h2>Warnings</h2>") < html.index("<h2>Run settings</h2>")
assert "vanishing gradients after epoch 1" in html and "Training health" in html
PY
check_json=$?
if [ $check_json -eq 0 ]; then passes=$((passes + 1)); else failures=$((failures + 1)); echo "FAIL diagnostics json and report"; cat "$tmp/err"; fi

# PNGs for predict, written with Python's zlib: the first five MNIST-format
# test images as 8-bit grey (rows under the five filters), the first one
# again as 56x56 RGBA (for --resize), one with a CRC-32 spoilt, one cut
# short; and "Fashion-MNIST" data (the trainer names its classes when the
# directory says fashion).
python3 - "$tmp/mnist" "$tmp" <<'PY'
import struct, sys, zlib
d, out = sys.argv[1], sys.argv[2]
images = open(d + "/t10k-images-idx3-ubyte", "rb").read()[16:]
labels = open(d + "/t10k-labels-idx1-ubyte", "rb").read()[8:]
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c
def png(w, h, depth, color, rows, bpp):
    raw, prev = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind, coded = y % 5, bytearray()
        for i, x in enumerate(row):
            a, b = (row[i - bpp] if i >= bpp else 0), prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            coded.append((x - [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]) & 255)
        raw += bytes([kind]) + coded
        prev = row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
for i in range(5):
    img = images[i * 784:(i + 1) * 784]
    data = png(28, 28, 8, 0, [img[y * 28:(y + 1) * 28] for y in range(28)], 1)
    open("%s/digit%d-label%d.png" % (out, i, labels[i]), "wb").write(data)
    if i == 0:
        open(out + "/digit.png", "wb").write(data)
        spoilt = bytearray(data)
        spoilt[45] ^= 1  # a byte of the IDAT chunk's data
        open(out + "/corrupt.png", "wb").write(spoilt)
        open(out + "/cut.png", "wb").write(data[:60])
        big = [bytes(v for x in range(56) for v in (img[y // 2 * 28 + x // 2],) * 3 + (255,))
               for y in range(56)]
        open(out + "/big.png", "wb").write(png(56, 56, 8, 6, big, 4))
# 16384x16384 by its IHDR, its data spoilt: predict must refuse it for its
# size from the header alone, before it reads (let alone inflates) the data
open(out + "/huge.png", "wb").write(b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 16384, 16384, 8, 0, 0, 0, 0))
    + struct.pack(">I", 4) + b"IDAT" + b"zzzz" + b"\0\0\0\0" + chunk(b"IEND", b""))
PY
ln -s "$tmp/mnist" "$tmp/fashion-mnist"

# What the outputs and inputs below run into: a directory, a regular file,
# a FIFO, data directories whose files are FIFOs and directories, and a
# device like /dev/full (a private node when this user may make one, so
# that a regression could not replace the machine's /dev/full).
mkdir -p "$tmp/adir" "$tmp/fifo-mnist" "$tmp/dir-mnist"
echo "a regular file" >"$tmp/afile"
mkfifo "$tmp/fifo" "$tmp/fifo.onnx" "$tmp/fifo.png"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
         t10k-labels-idx1-ubyte; do
    mkfifo "$tmp/fifo-mnist/$f"
    mkdir "$tmp/dir-mnist/$f"
done
if mknod "$tmp/full" c 1 7 2>/dev/null; then full=$tmp/full; else full=/dev/full; fi
mkdir -p "$tmp/single" "$tmp/fifo-run"
echo '{}' >"$tmp/single/metrics.json" # what a single run's --report leaves
mkfifo "$tmp/fifo-run/metrics.json"
for f in keep.json keep.nnm; do
    echo "the good $f" >"$tmp/$f"
done
# An existing --checkpoint is continued: keep.ckpt is the first epoch of
# the full-disk row's run (a constant schedule may be given more epochs).
"$bin/mnist_train" --data "$tmp/mnist" --model mlp --epochs 1 --schedule constant \
    --checkpoint "$tmp/keep.ckpt" --quiet >/dev/null
for f in keep.json keep.nnm keep.ckpt; do
    cp "$tmp/$f" "$tmp/$f.orig"
done

# Bad flags, special files and outputs that cannot be written: one row per
# case, "PROGRAM|EXIT|MESSAGE|ARGS|FILE_SIZE_LIMIT". A new flag gets rows.
# ARGS are split at spaces; @TMP@ is the temporary directory, @FULL@ the
# full device, @EMPTY@ an empty argument. The trainers get --data first
# (a row's own --data wins). MESSAGE is a fixed string the output must
# contain. FILE_SIZE_LIMIT (KiB, via ulimit -f) simulates a full disk.
# Every row runs under `timeout 10`, so a tool that blocks fails its row.
rows=(
"mnist_train|2|--epochs '0': zero; expected a whole number from 1 to 10000|--epochs 0"
"mnist_train|2|--epochs 'abc': not a number; expected a whole number|--epochs abc"
"mnist_train|2|--epochs '12x': garbage after the number|--epochs 12x"
"mnist_train|2|--epochs '2.5': not a whole number|--epochs 2.5"
"mnist_train|2|--epochs '99999': too large; expected a whole number from 1 to 10000|--epochs 99999"
"mnist_train|2|--epochs needs a value|--epochs"
"mnist_train|2|--batch '-3': negative; expected a whole number from 1 to 65536|--batch -3"
"mnist_train|2|--batch '0': zero|--batch 0"
"mnist_train|2|--batch '65537': too large|--batch 65537"
"mnist_train|2|--batch '99999999999999999999': too large|--batch 99999999999999999999"
"mnist_train|2|--batch ' 8': blank before the number|--batch @SPACE8@"
"mnist_train|2|--lr 'nan': not finite; expected a number from 1e-09 to 100|--lr nan"
"mnist_train|2|--lr 'inf': not finite|--lr inf"
"mnist_train|2|--lr '1e9': too large; expected a number from 1e-09 to 100|--lr 1e9"
"mnist_train|2|--lr '0': zero|--lr 0"
"mnist_train|2|--lr '-0.1': negative|--lr -0.1"
"mnist_train|2|--lr '0.1x': garbage after the number|--lr 0.1x"
"mnist_train|2|--lr '': empty|--lr @EMPTY@"
"mnist_train|2|--momentum '1': too large; expected a number from 0 to 0.9999|--momentum 1"
"mnist_train|2|--momentum '-0.5': negative|--momentum -0.5"
"mnist_train|2|--weight-decay '2': too large; expected a number from 0 to 1|--weight-decay 2"
"mnist_train|2|--weight-decay 'nan': not finite|--weight-decay nan"
"mnist_train|2|--gamma '0': zero; expected a number from 1e-06 to 1|--schedule step --gamma 0"
"mnist_train|2|--gamma '1.5': too large|--schedule exp --gamma 1.5"
"mnist_train|2|--gamma is for --schedule step or exp|--gamma 0.5"
"mnist_train|2|--warmup '-1': negative; expected a number from 0 to 10000|--warmup -1"
"mnist_train|2|--warmup 20 is longer than the run (--epochs 10)|--warmup 20"
"mnist_train|2|--seed '-1': negative; expected a whole number from 0 to 2147483647|--seed -1"
"mnist_train|2|--seed '1e3': not a whole number|--seed 1e3"
"mnist_train|2|--threads '0': zero; expected a whole number from 1 to 64|--threads 0"
"mnist_train|2|--threads '100000': too large|--threads 100000"
"mnist_train|2|--limit '0': zero; expected a whole number from 1 to 2147483647|--limit 0"
"mnist_train|2|--limit '-5': negative|--limit -5"
"mnist_train|2|--optimizer 'lbfgs': unknown; expected one of sgd, adam, rmsprop or adamw|--optimizer lbfgs"
"mnist_train|2|--schedule 'sometimes': unknown; expected one of constant, step, exp or cosine|--schedule sometimes"
"mnist_train|2|--kernels 'fastest': unknown; expected one of auto, portable or reference|--kernels fastest"
"mnist_train|2|--nesterov is for --optimizer sgd, not adam|--optimizer adam --nesterov"
"mnist_train|2|--nesterov needs a --momentum above 0|--nesterov --momentum 0"
"mnist_train|2|--momentum is for sgd and rmsprop; adamw has no momentum setting|--optimizer adamw --momentum 0.5"
"mnist_train|2|--model: spec token 1 'conv3x3': expected convKxKxN|--model conv3x3"
"mnist_train|2|unknown option '--no-diagnostic'|--no-diagnostic"
"mnist_train|0|test accuracy:|--model mlp --epochs 1 --batch 16 --no-diagnostics"
"mnist_train|2|--model '': empty; expected a preset or a spec|--model @EMPTY@"
"mnist_train|2|--data '': empty; expected a directory|--data @EMPTY@"
"mnist_train|2|--save '--quiet': an option, not a value; expected a file name|--save --quiet"
"mnist_train|2|unknown option '--bogus'|--bogus"
"mnist_train|2|unknown option '--epoch'; did you mean --epochs?|--epoch 3"
"mnist_train|2|see mnist_train --help|--epoch 3"
"mnist_train|2|'--lr=0.1': options take their value as the next argument: --lr 0.1|--lr=0.1"
"mnist_train|2|--model 'lenett': not a preset or a layer token; did you mean lenet? (presets: mlp, lenet, deep, deep-bn, vgg, vgg-gap, resnet20, resnet-small|--model lenett"
"mnist_train|2|does not fit 1x28x28 inputs: layer 5 'pool2': its input 8x1x1 is smaller than the window 2x2|--model conv3x3x8,pool2,pool2,pool2,pool2,pool2,dense10"
"mnist_train|2|does not fit 1x28x28 inputs: layer 3 'pool2': its input 16x1x1 is smaller than the window 2x2|--model conv5x5x16,pool4,pool4,pool2,dense10"
"mnist_train|0|mnist_train (libnn |--version"
"cifar10_train|0|cifar10_train (libnn |--version"
"predict|0|predict (libnn |--version"
"nn_compare|0|nn_compare (libnn |--version"
"nn_convert|0|nn_convert (libnn |--version"
"nn_bench|0|nn_bench (libnn |--version"
"nn_compare|2|unknown option '-0'; did you mean -o?|@TMP@/sw-good -0 x"
"cifar10_train|2|--batch 65536: training model vgg needs|--model vgg --batch 65536"
"mnist_train|2|model dense16777216 on 1x28x28 inputs with --batch 64 is beyond libnn's size limits|--model dense16777216"
"mnist_train|2|--model dense5 gives 5 outputs per image, the data has 10 classes|--model dense5"
"mnist_train|1|--json @TMP@/missing/m.json: the directory @TMP@/missing does not exist|--json @TMP@/missing/m.json"
"mnist_train|1|--json @TMP@/adir: is a directory, not a regular file|--json @TMP@/adir"
"mnist_train|1|--json @TMP@/afile/m.json: @TMP@/afile is a regular file, not a directory|--json @TMP@/afile/m.json"
"mnist_train|1|--json @FULL@: is a device, not a regular file|--json @FULL@"
"mnist_train|1|--save @FULL@: is a device, not a regular file|--save @FULL@"
"mnist_train|1|--save @TMP@/adir: is a directory, not a regular file|--save @TMP@/adir"
"mnist_train|1|--save @TMP@/missing/m.nnm: the directory @TMP@/missing does not exist|--save @TMP@/missing/m.nnm"
"mnist_train|1|--checkpoint @TMP@/adir: is a directory, not a regular file|--checkpoint @TMP@/adir"
"mnist_train|1|--checkpoint @TMP@/fifo: is a FIFO, not a regular file|--checkpoint @TMP@/fifo"
"mnist_train|1|--report @TMP@/afile: is a regular file, not a directory|--report @TMP@/afile"
"mnist_train|1|--report @TMP@/missing/r: the directory @TMP@/missing does not exist|--report @TMP@/missing/r"
"mnist_train|1|--save and --checkpoint name the same file @TMP@/same|--save @TMP@/same --checkpoint @TMP@/same"
"mnist_train|1|--resume: @TMP@/fifo: is a FIFO, not a regular file|--resume @TMP@/fifo"
"mnist_train|1|--resume: @TMP@/adir: is a directory, not a regular file|--resume @TMP@/adir"
"mnist_train|1|@TMP@/fifo-mnist/train-images-idx3-ubyte: is a FIFO, not a regular file|--data @TMP@/fifo-mnist"
"mnist_train|1|@TMP@/dir-mnist/train-images-idx3-ubyte: is a directory, not a regular file|--data @TMP@/dir-mnist"
"mnist_train|1|--json: @TMP@/keep.json: write failed (File too large)|--model mlp --epochs 1 --json @TMP@/keep.json|1"
"mnist_train|1|--save: @TMP@/keep.nnm: write failed (File too large)|--model mlp --epochs 1 --save @TMP@/keep.nnm|64"
"mnist_train|1|--checkpoint: @TMP@/keep.ckpt: write failed (File too large)|--model mlp --epochs 2 --schedule constant --checkpoint @TMP@/keep.ckpt|64"
"mnist_train|2|the file's model is dense100,relu,dense10, not the default model lenet (no --model was given)|--epochs 2 --schedule constant --resume @TMP@/keep.ckpt"
"mnist_train|1|--checkpoint: @TMP@/afile: bad magic: not a libnn checkpoint (the file exists but cannot be continued|--model mlp --epochs 1 --checkpoint @TMP@/afile"
"mnist_train|1|--report: @TMP@/report/filters.png: write failed (File too large)|--model mlp --epochs 1 --report @TMP@/report|1"
"predict|1|@TMP@/fifo: is a FIFO, not a regular file|@TMP@/fifo @TMP@/img.ppm"
"predict|1|/dev/zero: is a device, not a regular file|/dev/zero @TMP@/img.ppm"
"predict|1|@TMP@/adir: is a directory, not a regular file|@TMP@/adir @TMP@/img.ppm"
"predict|1|@TMP@/fifo: is a FIFO, not a regular file|@TMP@/c.nnm @TMP@/fifo"
"predict|1|@TMP@/adir: is a directory, not a regular file|@TMP@/c.nnm @TMP@/adir"
"predict|1|@TMP@/fifo: is a FIFO, not a regular file|@TMP@/c.nnm --idx @TMP@/fifo @TMP@/fifo"
"predict|2|--first '0': zero; expected a whole number from 1 to 1000000|@TMP@/c.nnm --idx a b --first 0"
"predict|2|--first 'ten': not a number|@TMP@/c.nnm --idx a b --first ten"
"predict|2|unknown option '--frist' after --idx|@TMP@/c.nnm --idx a b --frist 3"
"predict|2|unknown option '--bogus'|@TMP@/c.nnm @TMP@/img.ppm --bogus"
"predict|1|@TMP@/digit.png is 28x28 grey; the model expects 32x32 RGB (--resize converts it)|@TMP@/c.nnm @TMP@/digit.png"
"predict|1|@TMP@/corrupt.png: chunk 'IDAT' at byte 33: CRC-32 mismatch (the file is corrupt)|@TMP@/c.nnm @TMP@/corrupt.png"
"predict|1|@TMP@/huge.png is 16384x16384; the model expects 32x32 (--resize converts it)|@TMP@/c.nnm @TMP@/huge.png"
"predict|1|@TMP@/cut.png: truncated: chunk 'IDAT' at byte 33 claims|@TMP@/c.nnm @TMP@/cut.png"
"predict|1|@TMP@/fifo.png: is a FIFO, not a regular file|@TMP@/c.nnm @TMP@/fifo.png"
"predict|1|@TMP@/afile: not a PNG, binary PGM (P5) or PPM (P6) file|@TMP@/c.nnm @TMP@/afile"
"predict|2|--resize 'cubic': unknown; expected bilinear or nearest|@TMP@/c.nnm @TMP@/digit.png --resize=cubic"
"predict|2|--top '0': zero; expected a whole number from 1 to 1000000|@TMP@/c.nnm @TMP@/digit.png --top 0"
"predict|2|--top needs a value|@TMP@/c.nnm @TMP@/digit.png --top"
"predict|2|--first is for --idx|@TMP@/c.nnm @TMP@/digit.png --first 3"
"predict|2|--resize is for image files|@TMP@/c.nnm --idx a b --resize"
"mnist_train|0|9 Ankle boot  |--data @TMP@/fashion-mnist --model mlp --epochs 1"
"nn_bench|2|--only 'everything': unknown; expected one of peak, sgemm, layers, models, trainer or int8|--only everything"
"nn_bench|2|--threads '1,x': item 'x': not a number|--threads 1,x"
"nn_bench|2|--threads '0': item '0': zero; expected a whole number from 1 to 64|--threads 0"
"nn_bench|2|--models ',lenet': an empty item|--models ,lenet"
"nn_bench|2|unknown option '--fast'|--fast"
"nn_bench|2|--batch '65': too large; expected a whole number from 1 to 64|--batch 65"
"mnist_train|2|--init starts a new run from a model, --resume continues one|--init @TMP@/c.nnm --resume @TMP@/c.nnm"
"mnist_train|1|--init: @TMP@/missing.onnx: cannot open|--init @TMP@/missing.onnx"
"mnist_train|1|an int8 model can be run, not trained|--init @TMP@/c8.nnm"
"cifar10_train|1|an int8 model can be run, not trained|--data @TMP@/cifar --init @TMP@/c8.nnm"
"nn_convert|2|--calibrate-count '0': zero|@TMP@/c.nnm @TMP@/c9.nnm --int8 --calibrate @TMP@/cifar --calibrate-count 0"
"nn_convert|1|--calibrate @TMP@/img.ppm: @TMP@/img.ppm: not a directory|@TMP@/c.nnm @TMP@/c9.nnm --int8 --calibrate @TMP@/img.ppm"
"nn_convert|1|images are 1x28x28, the model takes 3x32x32|@TMP@/c.nnm @TMP@/c9.nnm --int8 --calibrate @TMP@/mnist"
"predict|2|--eval takes a directory alone|@TMP@/c.nnm --eval @TMP@/cifar @TMP@/img.ppm"
"predict|1|--eval @TMP@/img.ppm: @TMP@/img.ppm: not a directory|@TMP@/c.nnm --eval @TMP@/img.ppm"
"mnist_train|2|--init @TMP@/c.nnm: the model takes 3x32x32 inputs into 10 outputs; the data has|--init @TMP@/c.nnm"
"nn_convert|2|the output's name must end in .onnx, .nnm, .mat, .c or /|@TMP@/c.nnm @TMP@/c.txt"
"nn_convert|1|@TMP@/missing.nnm: cannot open|@TMP@/missing.nnm @TMP@/c.onnx"
"nn_convert|1|@TMP@/img.ppm: bad magic: not a libnn model file|@TMP@/img.ppm @TMP@/c.onnx"
"nn_convert|1|@TMP@/fifo.onnx: is a FIFO, not a regular file|@TMP@/fifo.onnx @TMP@/c.nnm"
"nn_convert|2|usage: nn_convert|@TMP@/c.nnm"
"mnist_train|2|--sweep 'bogus=1,2': unknown option 'bogus'; a sweep varies model, epochs, batch, lr|--sweep bogus=1,2 --report @TMP@/sw"
"mnist_train|2|--sweep 'data=a,b': cannot vary 'data'; a sweep varies model|--sweep data=a,b --report @TMP@/sw"
"mnist_train|2|--sweep 'lr': expected OPTION=V1,V2,... (e.g. lr=0.01,0.1)|--sweep lr --report @TMP@/sw"
"mnist_train|2|--sweep '=0.1': expected OPTION=V1,V2,...|--sweep =0.1 --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=': no values; expected OPTION=V1,V2,...|--sweep lr= --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=0.1,,0.2': --lr '': empty; expected a number from 1e-09 to 100|--sweep lr=0.1,,0.2 --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=0.1,abc': --lr 'abc': not a number; expected a number from 1e-09 to 100|--sweep lr=0.1,abc --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=0.1,nan': --lr 'nan': not finite|--sweep lr=0.1,nan --report @TMP@/sw"
"mnist_train|2|--sweep 'batch=16,0': --batch '0': zero; expected a whole number from 1 to 65536|--sweep batch=16,0 --report @TMP@/sw"
"mnist_train|2|--sweep 'epochs=1,2.5': --epochs '2.5': not a whole number|--sweep epochs=1,2.5 --report @TMP@/sw"
"mnist_train|2|--sweep 'optimizer=sgd,lbfgs': --optimizer 'lbfgs': unknown; expected one of sgd, adam, rmsprop or adamw|--sweep optimizer=sgd,lbfgs --report @TMP@/sw"
"mnist_train|2|--sweep 'model=lenet;conv3x3': --model: spec token 1 'conv3x3': expected convKxKxN|--sweep model=lenet;conv3x3 --report @TMP@/sw"
"mnist_train|2|'conv3x3x8p1' is not a preset; separate model specs with ';'|--sweep model=lenet,conv3x3x8p1,relu,dense10 --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=0.2': lr is swept twice; give its values in one list|--sweep lr=0.1 --sweep lr=0.2 --report @TMP@/sw"
"mnist_train|2|--sweep 'lr=0.1,0.10': '0.10' is the same --lr as '0.1'|--sweep lr=0.1,0.10 --report @TMP@/sw"
"mnist_train|2|--sweep: more than 1000 runs (the product of the lists' lengths)|--sweep seed=$(seq -s, 1 40) --sweep batch=$(seq -s, 1 30) --report @TMP@/sw"
"mnist_train|2|1001 values; a sweep makes 1000 runs at most|--sweep seed=$(seq -s, 0 1000) --report @TMP@/sw"
"mnist_train|2|--sweep needs --report DIR|--sweep lr=0.1,0.2"
"mnist_train|2|--save is for a single run: a sweep keeps each run's model|--sweep lr=0.1,0.2 --report @TMP@/sw --save @TMP@/s.nnm"
"mnist_train|2|--checkpoint is for a single run|--sweep lr=0.1,0.2 --report @TMP@/sw --checkpoint @TMP@/s.ckpt"
"mnist_train|2|--lr and --sweep lr: give one of them|--lr 0.1 --sweep lr=0.1,0.2 --report @TMP@/sw"
"mnist_train|2|--save-best is for --sweep (a single run saves its model with --save)|--save-best @TMP@/best.nnm"
"mnist_train|2|--sweep run optimizer=adam: --nesterov is for --optimizer sgd, not adam|--sweep optimizer=sgd,adam --nesterov --report @TMP@/sw"
"mnist_train|2|--sweep run epochs=1: --warmup 2 is longer than the run (--epochs 1)|--sweep epochs=1,3 --warmup 2 --report @TMP@/sw"
"mnist_train|2|--model dense5 gives 5 outputs per image, the data has 10 classes|--sweep model=mlp;dense5 --report @TMP@/sw"
"mnist_train|2|--sweep run model=dense5 cannot start: nothing was trained|--sweep model=mlp;dense5 --report @TMP@/sw"
"mnist_train|1|--save-best @TMP@/adir: is a directory, not a regular file|--sweep lr=0.1,0.2 --report @TMP@/sw --save-best @TMP@/adir"
"mnist_train|1|--report @TMP@/single: holds the report of a single run (metrics.json)|--sweep lr=0.1,0.2 --report @TMP@/single"
"mnist_train|0|sweep: 2 runs, 0 failed|--sweep model=mlp;pool2,dense10 --epochs 1 --report @TMP@/sw-good"
"nn_compare|2|usage: nn_compare DIR... [-o OUT]|"
"nn_compare|2|unknown option '--bogus'|--bogus @TMP@/sw-good"
"nn_compare|2|-o needs a directory|@TMP@/sw-good -o"
"nn_compare|1|@TMP@/missing/metrics.json: cannot open|@TMP@/missing"
"nn_compare|1|@TMP@/fifo-run/metrics.json: is a FIFO, not a regular file|@TMP@/fifo-run"
)
for row in "${rows[@]}"; do
    IFS='|' read -r program want message args limit <<<"$row"
    message=${message//@TMP@/$tmp}
    message=${message//@FULL@/$full}
    argv=()
    case $program in
        mnist_train) argv=(--data "$tmp/mnist") ;;
        cifar10_train) argv=(--data "$tmp/cifar") ;;
    esac
    for a in $args; do
        a=${a//@TMP@/$tmp}
        a=${a//@FULL@/$full}
        case $a in
            @EMPTY@) a= ;;
            @SPACE8@) a=" 8" ;;
        esac
        argv+=("$a")
    done
    name="$program $args"
    if [ -n "${limit:-}" ]; then
        # shellcheck disable=SC2016 # expanded by the inner shell
        check "$name" "$want" timeout 10 bash -c 'ulimit -f "$0"; trap "" XFSZ; exec "$@"' \
            "$limit" "$bin/$program" "${argv[@]}" --quiet
    else
        check "$name" "$want" timeout 10 "$bin/$program" "${argv[@]}"
    fi
    if grep -qF -- "$message" "$tmp/out" "$tmp/err"; then
        passes=$((passes + 1))
    else
        failures=$((failures + 1))
        echo "FAIL $name: no line contains '$message'"
        sed 's/^/  | /' "$tmp/out" "$tmp/err" | tail -5
    fi
done
# The failed writes left every file as it was, no temporary file behind,
# and the device in place.
for f in keep.json keep.nnm keep.ckpt; do
    check "failed write keeps $f" 0 cmp "$tmp/$f" "$tmp/$f.orig"
done
check "no temporary files left" 0 test -z "$(find "$tmp" -name '*.tmp*')"
check "the device is still a device" 0 test -c "$full"
check mnist_train_missing_data 1 "$bin/mnist_train" --data "$tmp/nowhere"
expect_output missing_data_message "^mnist_train: --data $tmp/nowhere: no such directory$"
expect_output missing_data_hint "data/fetch_mnist.sh .*apt-get install dataset-fashion-mnist"
mkdir -p "$tmp/empty-data"
check mnist_train_empty_data 1 "$bin/mnist_train" --data "$tmp/empty-data"
expect_output empty_data_message "--data $tmp/empty-data: the directory holds no data files \(train-images-idx3-ubyte"
expect_output empty_data_hint "data/fetch_mnist.sh .*apt-get install dataset-fashion-mnist"
check mnist_train_file_as_data 1 "$bin/mnist_train" --data "$tmp/mnist/train-images-idx3-ubyte"
expect_output file_as_data_message "is a regular file, not a directory: give the directory .*, here --data $tmp/mnist$"
expect_output file_as_data_hint "data/fetch_mnist.sh .*apt-get install dataset-fashion-mnist"
check cifar_empty_data 1 "$bin/cifar10_train" --data "$tmp/empty-data"
expect_output cifar_empty_data_message "holds no data files \(data_batch_1.bin"
expect_output cifar_empty_data_hint "data/fetch_cifar10.sh"
check cifar_truncated 1 "$bin/cifar10_train" --data "$tmp/cifar-bad" --epochs 1
mkdir -p "$tmp/cifar-bad" && head -c 5000 "$tmp/cifar/data_batch_1.bin" >"$tmp/cifar-bad/data_batch_1.bin"
check cifar_truncated_file 1 "$bin/cifar10_train" --data "$tmp/cifar-bad" --epochs 1
# ONNX and weight dumps from the command line: the CIFAR model saved above,
# to ONNX and back, predict with the ONNX file, fine-tune from it.
check nn_convert_onnx 0 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/c.onnx"
check nn_convert_back 0 "$bin/nn_convert" "$tmp/c.onnx" "$tmp/c_back.nnm"
check nn_convert_same_file 0 cmp "$tmp/c.nnm" "$tmp/c_back.nnm"
check nn_convert_mat 0 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/c.mat"
check nn_convert_npy 0 "$bin/nn_convert" "$tmp/c.nnm" "$tmp/npy/"
check nn_convert_npy_files 0 test -s "$tmp/npy/layer0_weight.npy"
check predict_onnx 0 "$bin/predict" "$tmp/c.onnx" "$tmp/img.ppm"
expect_output predict_onnx_class "img.ppm: class [0-9]"
check init_onnx 0 "$bin/cifar10_train" --data "$tmp/cifar" --init "$tmp/c.onnx" --epochs 1 \
    --batch 16 --quiet

# Both tables of the trainer show class names whole ("Ankle boo" before).
check fashion_names 0 "$bin/mnist_train" --data "$tmp/fashion-mnist" --model mlp --epochs 1
check fashion_names_in_both_tables 0 test "$(grep -c '^ 9 Ankle boot ' "$tmp/out")" -eq 2

# predict classifies PNG digits (grey, and RGBA twice the size with
# --resize), and its --json output is one JSON object per image.
check mnist_model 0 "$bin/mnist_train" --data "$tmp/mnist" --model mlp --epochs 10 \
    --save "$tmp/m.nnm" --quiet
for png in "$tmp"/digit?-label?.png; do
    label=${png##*-label}
    label=${label%.png}
    check "predict_png_$(basename "$png")" 0 "$bin/predict" "$tmp/m.nnm" "$png"
    expect_output "predict_png_$(basename "$png")_class" "^$png: class $label \(p = "
done
label0=$(basename "$tmp"/digit0-label?.png .png)
label0=${label0##*label}
check predict_resize 0 "$bin/predict" "$tmp/m.nnm" "$tmp/big.png" --resize --top 3
expect_output predict_resize_class "big.png: class $label0 \(p = [0-9.]+\)  top 3: $label0 "
check predict_json 0 "$bin/predict" "$tmp/m.nnm" "$tmp"/digit?-label?.png --json --top 2
cp "$tmp/out" "$tmp/predict.json"
check predict_json_parses 0 python3 -c '
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 5, lines
for line in lines:
    o = json.loads(line)
    label = int(re.search(r"label(\d)", o["file"]).group(1))
    assert o["class"] == label, o
    assert len(o["probabilities"]) == 10 and abs(sum(o["probabilities"]) - 1) < 1e-4, o
    assert [t["class"] for t in o["top"]][0] == label and len(o["top"]) == 2, o
' "$tmp/predict.json"

check help 0 "$bin/mnist_train" --help
expect_output help_lists_options "--weight-decay"
check help_layers 0 "$bin/mnist_train" --help-layers
expect_output help_layers_lists_dropout "dropout\[R\] +dropout +R 0.5$"
expect_output help_layers_conv_defaults "convKxKxN\[sS\]\[pP\] +conv2d +S 1, P 0$"
expect_output help_layers_pool_defaults "poolK\[sS\]\[pP\]\[c\] +maxpool +S K, P 0$"
expect_output help_layers_avgpool_defaults "avgpoolK\[sS\]\[pP\]\[c\]\[e\] +avgpool +S K, P 0$"
expect_output help_layers_bn_defaults "bn\[epsE\] +batchnorm +E 0.00001$"
for letter in K N S P c e A R E; do
    expect_output "help_layers_letter_$letter" "^  $letter  [a-z]"
done
expect_output help_layers_example "^example: --model conv"

# Every optimizer, and the new layers, from the command line.
for optimizer in sgd adam rmsprop adamw; do
    check "cifar10_train_optimizer_$optimizer" 0 "$bin/cifar10_train" --data "$tmp/cifar" \
        --model "$small" --epochs 1 --batch 16 --optimizer "$optimizer" --quiet
done
check cifar10_train_vgg_gap 0 "$bin/cifar10_train" --data "$tmp/cifar" --model vgg-gap \
    --epochs 1 --batch 32 --limit 64 --quiet
pool_dropout_layers="conv3x3x8p1,leakyrelu0.1,avgpool3s2p1,conv3x3x8p1,bn,relu,dropout0.3,gap,dense10"
check cifar10_train_new_layers 0 "$bin/cifar10_train" --data "$tmp/cifar" \
    --model "$pool_dropout_layers" --epochs 1 --batch 16 --save "$tmp/new.nnm" --quiet
check predict_new_layers 0 "$bin/predict" "$tmp/new.nnm" "$tmp/img.ppm"

# A resume that conflicts with its checkpoint is refused with exit 2 (as a
# bad value is), naming the setting and both values: the model, the batch,
# every optimizer setting (the library's check, with its words) and every
# schedule setting (recorded in the checkpoint since version 3). An exp
# schedule may be given more epochs; a cosine one may not (its length is
# --epochs).
resumed="--data $tmp/cifar --model $small --epochs 2 --batch 16 --lr 0.05 --schedule exp --gamma 0.5"
check checkpoint_first_epoch 0 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 1 --batch 16 --lr 0.05 --schedule exp --gamma 0.5 --checkpoint "$tmp/run.ckpt" --quiet
resume_refused() { # resume_refused NAME MESSAGE ARGS...: exit 2 and MESSAGE
    local name=$1 message=$2
    shift 2
    check "resume_other_$name" 2 "$bin/cifar10_train" "$@" --resume "$tmp/run.ckpt"
    if grep -qF -- "$message" "$tmp/err"; then
        passes=$((passes + 1))
    else
        failures=$((failures + 1))
        echo "FAIL resume_other_${name}_message: no line contains '$message'"
        sed 's/^/  | /' "$tmp/err" | tail -3
    fi
}
# shellcheck disable=SC2086
{
resume_refused model "the file's model is conv3x3x8p1,bn,relu,pool2,conv3x3x8p1,relu,pool4,dense10, --model asks for vgg" \
    $resumed --model vgg
resume_refused batch "the checkpoint was trained with batch 16, --batch asks for 32" $resumed --batch 32
resume_refused default_batch "trained with batch 16, --batch asks for 64" \
    --data "$tmp/cifar" --model "$small" --epochs 2 --lr 0.05 --schedule exp --gamma 0.5
resume_refused lr "was trained with --lr 0.05, this command asks for --lr 0.1" $resumed --lr 0.1
resume_refused momentum "the checkpoint was made with momentum 0.9, not 0.5" \
    $resumed --momentum 0.5
resume_refused weight_decay "the checkpoint was made with weight_decay 0.0005, not 0.001" \
    $resumed --weight-decay 0.001
resume_refused nesterov "the checkpoint was made with nesterov 0, not 1" \
    $resumed --nesterov
resume_refused optimizer "the checkpoint was made with optimizer sgd, not adam" \
    --data "$tmp/cifar" --model "$small" --epochs 2 --batch 16 --lr 0.05 --schedule exp \
    --gamma 0.5 --optimizer adam
resume_refused schedule "was trained with --schedule exp, this command asks for --schedule cosine" \
    --data "$tmp/cifar" --model "$small" --epochs 2 --batch 16 --lr 0.05
resume_refused gamma "was trained with --gamma 0.5, this command asks for --gamma 0.7" $resumed --gamma 0.7
resume_refused warmup "was trained with --warmup 0, this command asks for --warmup 1" $resumed --warmup 1
check resume_same 0 "$bin/cifar10_train" $resumed --resume "$tmp/run.ckpt" --quiet
}
# A version 1 checkpoint did not record its batch size: not checked.
check resume_version_1_any_batch 0 "$bin/cifar10_train" --data "$tmp/cifar" \
    --model pool8,dense10 --epochs 2 --batch 32 --quiet \
    --resume "$(dirname "$0")/fixtures/checkpoint_v1.ckpt"

# The seed plays no part in a resumed run (the generator's state and the
# weights come from the checkpoint): another --seed gives the same model,
# bit for bit, as the run that was never interrupted.
same="--data $tmp/cifar --model $small --batch 16 --schedule constant --threads 1 --quiet"
# shellcheck disable=SC2086
check seed_straight 0 "$bin/cifar10_train" $same --epochs 2 --seed 3 --save "$tmp/straight.nnm"
# shellcheck disable=SC2086
check seed_first_half 0 "$bin/cifar10_train" $same --epochs 1 --seed 3 --checkpoint "$tmp/half.ckpt"
# shellcheck disable=SC2086
check seed_resumed 0 "$bin/cifar10_train" $same --epochs 2 --seed 99 --resume "$tmp/half.ckpt" \
    --save "$tmp/resumed.nnm"
expect_output seed_note "note: --resume continues the checkpoint's random generator; --seed is not used"
check seed_resume_is_bit_identical 0 cmp "$tmp/straight.nnm" "$tmp/resumed.nnm"

# Interrupted with Ctrl-C (SIGINT), a run with --checkpoint says how to go
# on and the same command continues it; the epoch count of a cosine
# schedule is its length, so another --epochs is refused. Without a
# checkpoint, the message says the progress is lost.
interrupted="--data $tmp/mnist --model mlp --epochs 5000 --batch 50 --threads 1 --no-diagnostics"
# shellcheck disable=SC2086
check interrupted_first 130 timeout --preserve-status -s INT 2 "$bin/mnist_train" $interrupted \
    --checkpoint "$tmp/int.ckpt"
expect_output interrupted_hint "^interrupted: $tmp/int.ckpt holds the run after epoch [0-9]+: run the same command again to continue from there"
# shellcheck disable=SC2086
check interrupted_again 130 timeout --preserve-status -s INT 2 "$bin/mnist_train" $interrupted \
    --checkpoint "$tmp/int.ckpt"
expect_output interrupted_again_resumes "^resuming $tmp/int.ckpt after epoch [1-9][0-9]* \(it exists: the same command continues its run\)$"
# shellcheck disable=SC2086
check interrupted_other_epochs 2 "$bin/mnist_train" $interrupted --epochs 6000 --checkpoint "$tmp/int.ckpt"
expect_output interrupted_other_epochs_message "was trained with --epochs 5000, this command asks for --epochs 6000 .*the cosine schedule's length is --epochs"
# shellcheck disable=SC2086
check interrupted_no_checkpoint 130 timeout --preserve-status -s INT 1 "$bin/mnist_train" $interrupted
expect_output interrupted_lost "^interrupted: the progress is lost \(give --checkpoint FILE"

# The messages of a short run: counts in the singular, the epoch's learning
# rate from its first step to its last, --init saying what it loaded, a
# --report with a trailing slash written without a doubled slash.
check one_epoch 0 "$bin/mnist_train" --data "$tmp/mnist" --model mlp --epochs 1 --report "$tmp/slash/"
expect_output one_epoch_singular "^training on 200 images, testing on 50, batch 64, 1 epoch, [0-9]+ threads?$"
expect_output one_epoch_lr_range "^epoch  1/1  lr 0\.05→[0-9.e-]+  train loss"
expect_output report_path_single_slash "^report written to $tmp/slash/index.html$"
cat "$tmp/out" "$tmp/err" >"$tmp/one_epoch.log"
check no_doubled_slash 1 grep -q '//' "$tmp/one_epoch.log"
check init_says_what 0 "$bin/mnist_train" --data "$tmp/mnist" --init "$tmp/alive.nnm" --epochs 1
expect_output init_loaded "^initialised from $tmp/alive.nnm: 3 layers, 79510 parameters$"
check unknown_option_one_line 2 "$bin/mnist_train" --epoch 3
check unknown_option_short 0 test "$(cat "$tmp/out" "$tmp/err" | wc -l)" -eq 2
check predict_idx_accuracy 0 "$bin/predict" "$tmp/m.nnm" --idx "$tmp/mnist/t10k-images-idx3-ubyte" \
    "$tmp/mnist/t10k-labels-idx1-ubyte" --first 20
expect_output predict_idx_accuracy_line "^accuracy: [0-9]+ of 20 images = [0-9.]+% \(their labels: .*t10k-labels-idx1-ubyte\)$"

# A sweep: a 2x2 grid on the generated MNIST set, each run in its directory
# with its report, metrics.json (its settings, every epoch, finished) and
# model; --report's index.html links every run; --save-best is the model of
# the run with the best final test accuracy (ties: the lower test loss).
check sweep_grid 0 "$bin/mnist_train" --data "$tmp/mnist" --sweep lr=0.02,0.1 \
    --sweep 'model=mlp;pool2,dense10' --epochs 2 --batch 32 --report "$tmp/sweep" \
    --save-best "$tmp/best.nnm"
expect_output sweep_grid_summary "sweep: 4 runs, 0 failed; compared in .*/sweep/index.html"
python3 - "$tmp/sweep" "$tmp/best.nnm" >"$tmp/out" 2>"$tmp/err" <<'PY'
import json, os, sys
top, best_file = sys.argv[1], sys.argv[2]
runs = sorted(d for d in os.listdir(top) if os.path.isdir(os.path.join(top, d)))
want = {("0.02", "mlp"), ("0.1", "mlp"), ("0.02", "pool2,dense10"), ("0.1", "pool2,dense10")}
assert len(runs) == 4, runs
seen, results = set(), []
for name in runs:
    d = os.path.join(top, name)
    assert name.startswith("lr=") and ",model=" in name, name
    assert "/" not in name and len(name) < 100, name
    for f in ("index.html", "metrics.json", "model.nnm", "curves.svg"):
        assert os.path.isfile(os.path.join(d, f)), (name, f)
    assert not os.path.exists(os.path.join(d, "checkpoint.ckpt")), name + ": checkpoint left"
    m = json.load(open(os.path.join(d, "metrics.json")))
    assert m["finished"] is True and m["planned_epochs"] == 2, name
    assert [e["epoch"] for e in m["epochs"]] == [1, 2], name
    s = m["settings"]
    seen.add((s["lr"], s["model"]))
    assert s["epochs"] == "2" and s["batch"] == "32", s
    assert m["seconds"] >= 0 and m["images_per_second"] > 0, m
    results.append((-m["test_accuracy"], m["test_loss"], name))
assert seen == want, seen
index = open(os.path.join(top, "index.html")).read()
for name in runs:
    assert 'href="%s/index.html"' % name.replace(";", "%3B") in index, name + " not linked"
best = min(results)[2]
assert open(os.path.join(top, best, "model.nnm"), "rb").read() == open(best_file, "rb").read(), \
    "--save-best is not " + best
print("sweep: 4 runs, best", best)
PY
check_sweep=$?
if [ $check_sweep -eq 0 ]; then passes=$((passes + 1)); else failures=$((failures + 1)); echo "FAIL sweep files"; cat "$tmp/err"; fi
# Started again: every run finished, so none is trained again.
check sweep_again 0 "$bin/mnist_train" --data "$tmp/mnist" --sweep lr=0.02,0.1 \
    --sweep 'model=mlp;pool2,dense10' --epochs 2 --batch 32 --report "$tmp/sweep"
expect_output sweep_again_skips "skipping lr=0.1,model=mlp \(finished\)"
# ... but not with other settings than the runs there were made with.
check sweep_other_settings 1 "$bin/mnist_train" --data "$tmp/mnist" --sweep lr=0.02,0.1 \
    --sweep 'model=mlp;pool2,dense10' --epochs 3 --batch 32 --report "$tmp/sweep"
expect_output sweep_other_settings_message "lr=0.02,model=mlp was trained with epochs 2, this sweep asks for epochs 3"
# A run's metrics.json that is not ours is refused before anything runs.
cp -r "$tmp/sweep" "$tmp/sweep-bad"
printf '{"model": "mlp", "epochs": [1,]}' >"$tmp/sweep-bad/lr=0.1,model=mlp/metrics.json"
check sweep_bad_metrics 1 "$bin/mnist_train" --data "$tmp/mnist" --sweep lr=0.02,0.1 \
    --sweep 'model=mlp;pool2,dense10' --epochs 2 --batch 32 --report "$tmp/sweep-bad"
expect_output sweep_bad_metrics_message "sweep-bad/lr=0.1,model=mlp/metrics.json: line 1, column 31: not valid JSON: expected a value"

# An interrupted sweep: killed once the second run has checkpointed its
# first epoch (it has three more to go), then started again. The finished
# run is skipped (its files untouched), the cut one resumes from its
# checkpoint and ends with the same model, byte for byte, as the same run
# never interrupted; its metrics.json has every epoch.
make_mnist "$tmp/mnist600" 600 100
cut="--data $tmp/mnist600 --model lenet --epochs 4 --batch 32 --threads 1"
# shellcheck disable=SC2086
check sweep_reference 0 "$bin/mnist_train" $cut --lr 0.05 --save "$tmp/uncut.nnm" --quiet
# shellcheck disable=SC2086
"$bin/mnist_train" $cut --sweep lr=0.02,0.05,0.1 --report "$tmp/cut" >"$tmp/cut.log" 2>&1 &
sweep_pid=$!
for _ in $(seq 1000); do # at most 20 s
    [ -f "$tmp/cut/lr=0.05/checkpoint.ckpt" ] && break
    sleep 0.02
done
kill -9 "$sweep_pid"
{ wait "$sweep_pid"; } 2>/dev/null
check sweep_killed_in_run_2 0 test -f "$tmp/cut/lr=0.05/checkpoint.ckpt" -a ! -f "$tmp/cut/lr=0.05/model.nnm"
first_run_time=$(stat -c %y "$tmp/cut/lr=0.02/metrics.json" "$tmp/cut/lr=0.02/model.nnm")
# shellcheck disable=SC2086
check sweep_restarted 0 "$bin/mnist_train" $cut --sweep lr=0.02,0.05,0.1 --report "$tmp/cut"
expect_output sweep_restart_skips "^skipping lr=0.02 \(finished\)"
expect_output sweep_restart_resumes "resuming .*/cut/lr=0.05/checkpoint.ckpt after epoch [123]$"
expect_output sweep_restart_runs_the_last "== run 3 of 3: lr=0.1$"
check sweep_skipped_untouched 0 test "$first_run_time" = \
    "$(stat -c %y "$tmp/cut/lr=0.02/metrics.json" "$tmp/cut/lr=0.02/model.nnm")"
check sweep_resumed_is_bit_identical 0 cmp "$tmp/uncut.nnm" "$tmp/cut/lr=0.05/model.nnm"
check sweep_resumed_has_every_epoch 0 python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["finished"] and [e["epoch"] for e in m["epochs"]] == [1, 2, 3, 4], m["epochs"]
' "$tmp/cut/lr=0.05/metrics.json"
check sweep_index_lists_all 0 grep -c 'href="lr=0.1/index.html"' "$tmp/cut/index.html"

# Residual nets (graphs) through the trainers. The layer table adds each
# layer's name and, for a layer that reads anything but the previous
# output, what it reads (a chain's table keeps its columns); metrics.json
# names them too, and the diagnostics reach relus past layer 16.
# resnet-small: a run stopped by Ctrl-C after its first checkpointed epoch
# and resumed ends with the model of the run never interrupted, byte for
# byte, on other thread counts (1, 2, 3); a sweep over two learning rates.
# resnet20 on the generated CIFAR-10 files: the same with --epochs 1 and
# --resume. nn_bench: their multiply-adds, and resnet-small layer by layer.
check chain_table_columns 0 grep -qx '#    layer      output (c,h,w)     parameters' \
    "$tmp/one_epoch.log"
check chain_table_row 0 grep -qx '0    dense        100,   1,   1           78500' \
    "$tmp/one_epoch.log"
rs=(--data "$tmp/mnist" --model resnet-small --batch 32 --epochs 3 --limit 96)
check resnet_small_straight 0 "$bin/mnist_train" "${rs[@]}" --threads 1 \
    --report "$tmp/rs-report" --save "$tmp/rs-straight.nnm"
cp "$tmp/out" "$tmp/rs-straight.log"
expect_output resnet_small_table_head '^#    layer +output \(c,h,w\) +parameters  name  reads$'
expect_output resnet_small_table_named '^2    relu +16, +28, +28 +0  s0$'
expect_output resnet_small_table_add '^8    add +16, +28, +28 +0 +7, s0$'
expect_output resnet_small_table_projection '^15   conv2d +32, +14, +14 +544 +b1$'
expect_output resnet_small_table_plain_row '^43   dense +10, +1, +1 +650$'
"$bin/mnist_train" "${rs[@]}" --threads 2 --checkpoint "$tmp/rs.ckpt" >"$tmp/rs-cut.log" 2>&1 &
rs_pid=$!
for _ in $(seq 1500); do # at most 30 s
    [ -f "$tmp/rs.ckpt" ] && break
    sleep 0.02
done
kill -INT "$rs_pid"
rs_status=0
wait "$rs_pid" || rs_status=$?
check resnet_small_interrupted 0 test "$rs_status" -eq 130
check resnet_small_interrupted_hint 0 grep -q \
    "^interrupted: $tmp/rs.ckpt holds the run after epoch [12]: run the same command" "$tmp/rs-cut.log"
check resnet_small_resumed 0 "$bin/mnist_train" "${rs[@]}" --threads 3 --resume "$tmp/rs.ckpt" \
    --save "$tmp/rs-resumed.nnm"
expect_output resnet_small_resuming "^resuming $tmp/rs.ckpt after epoch [12]$"
check resnet_small_resume_is_bit_identical 0 cmp "$tmp/rs-straight.nnm" "$tmp/rs-resumed.nnm"
check resnet_small_metrics 0 python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["model"].startswith("conv3x3x16p1,bn,relu@s0,"), m["model"]
layers = {l["layer"]: l for l in m["diagnostics"]["epochs"][-1]["layers"]}
assert layers[2]["name"] == "s0" and layers[2]["reads"] == [1], layers[2]
assert layers[15]["kind"] == "conv2d" and layers[15]["reads"] == [9], layers[15]
assert layers[15]["name"] == "" and layers[15]["grad_norm"] > 0, layers[15]
assert layers[34]["name"] == "b4" and layers[34]["reads"] == [33], layers[34]
assert 0 <= layers[34]["dead"] < 0.5, layers[34]
assert 8 not in layers and 17 not in layers, "an add has no weights or units"
' "$tmp/rs-report/metrics.json"
# relu b4 (layer 34) made dead: the shifts of the batchnorm before its add
# (layer 32, 64 channels) all -1000; the parameters before it counted
# from the layer table.
python3 - "$tmp/rs-straight.log" "$tmp/rs-straight.nnm" "$tmp/rs-dead.nnm" <<'PY'
import re, struct, sys, zlib
rows = [re.match(r"(\d+) +\S+ +\d+, *\d+, *\d+ +(\d+)", line) for line in open(sys.argv[1])]
params = [int(r.group(2)) for r in rows if r]
b = bytearray(open(sys.argv[2], "rb").read())
start = 52 + struct.unpack_from("<I", b, 48)[0] + 8  # docs/FORMAT.md
beta = start + 4 * (sum(params[:32]) + 64)
for k in range(64):
    struct.pack_into("<f", b, beta + 4 * k, -1000.0)
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
open(sys.argv[3], "wb").write(b)
PY
diag dead_relu_in_graph --init "$tmp/rs-dead.nnm" --epochs 1 --limit 96
expect_output diagnostics_dead_in_graph "^warning: dead units after epoch 1: 100% of layer 34's \(relu@b4\) channels"
check resnet_small_sweep 0 "$bin/mnist_train" --data "$tmp/mnist" --model resnet-small \
    --batch 32 --epochs 1 --limit 96 --threads 2 --sweep lr=0.02,0.1 --report "$tmp/rs-sweep"
expect_output resnet_small_sweep_summary "sweep: 2 runs, 0 failed"
check resnet_small_sweep_models 0 test -s "$tmp/rs-sweep/lr=0.02/model.nnm" -a \
    -s "$tmp/rs-sweep/lr=0.1/model.nnm"
check resnet_small_sweep_lr_matters 1 cmp -s "$tmp/rs-sweep/lr=0.02/model.nnm" \
    "$tmp/rs-sweep/lr=0.1/model.nnm"
r20=(--data "$tmp/cifar" --model resnet20 --batch 32 --limit 64 --schedule constant)
check resnet20_straight 0 "$bin/cifar10_train" "${r20[@]}" --epochs 2 --threads 2 \
    --report "$tmp/r20-report" --save "$tmp/r20-straight.nnm"
expect_output resnet20_table_projection '^29   conv2d +32, +16, +16 +544 +b3$'
expect_output resnet20_table_add '^31   add +32, +16, +16 +0 +30, m1$'
expect_output resnet20_parameters '^total trainable parameters: 273258$'
check resnet20_report 0 test -s "$tmp/r20-report/index.html"
check resnet20_first_epoch 0 "$bin/cifar10_train" "${r20[@]}" --epochs 1 --threads 1 \
    --checkpoint "$tmp/r20.ckpt" --quiet
check resnet20_resumed 0 "$bin/cifar10_train" "${r20[@]}" --epochs 2 --threads 4 \
    --resume "$tmp/r20.ckpt" --save "$tmp/r20-resumed.nnm" --quiet
check resnet20_resume_is_bit_identical 0 cmp "$tmp/r20-straight.nnm" "$tmp/r20-resumed.nnm"
check resnet20_sweep 0 "$bin/cifar10_train" "${r20[@]}" --epochs 1 --sweep lr=0.02,0.1 \
    --report "$tmp/r20-sweep"
expect_output resnet20_sweep_summary "sweep: 2 runs, 0 failed"
# Multiply-adds per image, as direct convolution: c_out h w c_in k k per
# convolution (its output's h, w), in x out per dense layer, 0 for add,
# batchnorm and relu; a training step 3 times the forward pass less the
# first layer's input gradient.
# The trainer against the bare loop: MNIST-shaped without augmentation,
# CIFAR-shaped with it.
check nn_bench_trainer 0 "$bin/nn_bench" --quick --only trainer --models mlp,resnet20 \
    --threads 1 --batch 4
expect_output nn_bench_trainer_mnist "^trainer model=mlp threads=1 batch=4 bare_ips=[0-9]+ trainer_ips=[0-9]+ ratio=[0-9.]+ augment=none"
expect_output nn_bench_trainer_cifar "^trainer model=resnet20 threads=1 batch=4 .* augment=crop4\+flip"
check nn_bench_graphs 0 "$bin/nn_bench" --quick --only models --models resnet20,resnet-small \
    --threads 1 --batch 2
cp "$tmp/out" "$tmp/bench-graphs.txt"
check nn_bench_graph_macs 0 python3 -c '
import re, sys
def conv(c_in, c_out, k, side):
    return c_out * side * side * c_in * k * k
resnet20 = (conv(3, 16, 3, 32) + 6 * conv(16, 16, 3, 32)
            + conv(16, 32, 3, 16) + 5 * conv(32, 32, 3, 16) + conv(16, 32, 1, 16)
            + conv(32, 64, 3, 8) + 5 * conv(64, 64, 3, 8) + conv(32, 64, 1, 8) + 64 * 10)
small = (conv(1, 16, 3, 28) + 2 * conv(16, 16, 3, 28)
         + conv(16, 32, 3, 14) + 3 * conv(32, 32, 3, 14) + conv(16, 32, 1, 14)
         + conv(32, 64, 3, 7) + 3 * conv(64, 64, 3, 7) + conv(32, 64, 1, 7) + 64 * 10)
want = {"resnet20": (resnet20, conv(3, 16, 3, 32)), "resnet-small": (small, conv(1, 16, 3, 28))}
seen = set()
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    if line.startswith("model ") and f["model"] in want:
        infer, first = want[f["model"]]
        assert f["direct_infer_mmacs"] == "%.2f" % (infer * 1e-6), (f["model"], infer, line)
        assert f["direct_train_mmacs"] == "%.2f" % ((3 * infer - first) * 1e-6), (f["model"], line)
        seen.add(f["model"])
assert seen == set(want), seen
' "$tmp/bench-graphs.txt"
check nn_bench_graph_layers 0 "$bin/nn_bench" --quick --only layers --models resnet-small \
    --threads 1 --batch 2
expect_output nn_bench_graph_add '^layer model=resnet-small index=17 spec=add\(input\) threads=1 forward_ms='
expect_output nn_bench_graph_projection '^layer model=resnet-small index=15 spec=conv1x1x32s2 threads=1 forward_ms='
check nn_bench_graph_every_layer 0 test "$(grep -c '^layer model=resnet-small index=' "$tmp/out")" -eq 44

# nn_compare: yesterday's run and today's, made separately, on one page
# with links to their reports; a malformed metrics.json is refused with a
# message naming the file, whatever is wrong with it.
check nn_compare_runs 0 "$bin/nn_compare" "$tmp/cut/lr=0.02" "$tmp/sweep/lr=0.1,model=mlp/" \
    -o "$tmp/compared"
expect_output nn_compare_says "2 runs compared in .*/compared/index.html"
check nn_compare_links 0 grep -q 'href="../cut/lr=0.02/index.html"' "$tmp/compared/index.html"
# The runs table: as many cells in its header as in every row (the run's
# name had none, so the figures sat under the wrong titles), on
# nn_compare's page and on a sweep's.
for page in "$tmp/compared/index.html" "$tmp/sweep/index.html" "$tmp/cut/index.html"; do
    check "runs_table_cells $page" 0 python3 -c '
import re, sys
html = open(sys.argv[1]).read()
table = html[html.index("<table class=\"runs\">"):]
table = table[:table.index("</table>")]
rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
def cells(row):
    return sum(int(m.group(1) or 1) for m in re.finditer(r"<t[hd](?: colspan=\"(\d+)\")?[^>]*>", row))
head = cells(rows[0])
assert len(rows) > 2, rows
for row in rows[1:]:
    assert cells(row) == head, (head, cells(row), row)
assert "<th>run</th>" in rows[0] or "<th>lr</th>" in rows[0], rows[0]
' "$page"
done
check nn_compare_slash 0 "$bin/nn_compare" "$tmp/cut/lr=0.02" "$tmp/sweep/lr=0.1,model=mlp/" \
    -o "$tmp/compared/"
expect_output nn_compare_slash_says "^2 runs compared in $tmp/compared/index.html$"
check nn_compare_svg 0 python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' \
    "$tmp/compared/curves.svg"
check nn_compare_refuses_a_run_dir 1 "$bin/nn_compare" "$tmp/cut/lr=0.02" -o "$tmp/cut/lr=0.1"
expect_output nn_compare_refuses_a_run_dir_message "holds a run's report \(metrics.json\)"
# Each case: the message, then the text of a metrics.json made from a good one.
python3 - "$tmp/sweep/lr=0.1,model=mlp/metrics.json" "$tmp/malformed" <<'PY'
import os, re, sys
good = open(sys.argv[1], "rb").read().decode()
def sub(pattern, repl, count=1):
    text, n = re.subn(pattern, repl, good, count=count)
    assert n, pattern
    return text
cases = [
    ("not valid JSON: expected a value, found the end of the file", ""),
    ("line 1, column 2: not valid JSON: expected a key", "{"),
    ("not valid JSON: a string without its closing quote", good[:300]),
    ("not valid JSON: expected a value", sub(r"1\.000000", "NaN")),
    ("not valid JSON: a number with a leading zero", sub(r'"batch": ', '"batch": 0')),
    ("not valid JSON: a number out of range", sub(r'"seconds": [0-9.]+', '"seconds": 1e999')),
    ("not valid JSON: expected ',' or ']' in an array", sub(r"\]\]", "]")),
    ("not valid JSON: more after the value", good + "{}"),
    ("not valid JSON: a key given twice in an object", sub(r'"batch":', '"seed": 1, "batch":')),
    ("not valid JSON: a control character in a string", sub(r'"mlp"', '"m\tlp"')),
    ("not valid JSON: a string that is not valid UTF-8", sub(r'"mlp"', '"m\udcc3(lp"')),
    ("not valid JSON: an unknown escape in a string", sub(r'"mlp"', r'"m\\qlp"')),
    ("not valid JSON: a lone low surrogate", sub(r'"mlp"', r'"\\udc00"')),
    ("not valid JSON: \\u0000 in a string", sub(r'"mlp"', r'"\\u0000"')),
    ("not valid JSON: nested too deeply", "[" * 100000 + "]" * 100000),
    ("the top level: expected an object, found an array", "[]"),
    ('the top level: no "finished"', sub(r'"finished"', '"done"')),
    ('"finished": expected true or false, found a number', sub(r'"finished": true', '"finished": 1')),
    ('"batch": 0 is not a whole number from 1 to 65536', sub(r'"batch": [0-9]+', '"batch": 0')),
    ('"epochs"[1] "test_accuracy": 1.5 is not a number from 0 to 1',
     sub(r'("epoch": 2.*?"test_accuracy": )[0-9.]+', r"\g<1>1.5")),
    ('"epochs"[1] : epoch 3 follows epoch 1', sub(r'"epoch": 2,', '"epoch": 3,')),
    ('"finished": true, but the last epoch recorded is 1 of 2',
     sub(r',\n    \{"epoch": 2[^\n]*', "")),
    ('"settings": "lr" is a number, not a string', sub(r'"lr": "0.1"', '"lr": 0.1')),
    ('"confusion"[0]: expected an array of 10 counts', sub(r"\[\[[0-9]+, ", "[[")),
    ('"classes"[2] "f1": -1 is not a number from 0 to 1', sub(r'("f1": [0-9.]+.*?"f1": [0-9.]+.*?"f1": )[0-9.]+', r"\g<1>-1")),
    ("bytes; a metrics.json has at most 8388608", good + " " * (8 << 20)),
]
for i, (message, text) in enumerate(cases):
    d = os.path.join(sys.argv[2], "%02d" % i)
    os.makedirs(d)
    open(os.path.join(d, "metrics.json"), "wb").write(text.encode("utf-8", "surrogateescape"))
    open(os.path.join(d, "message"), "w").write(message)
PY
for dir in "$tmp"/malformed/*/; do
    dir=${dir%/}
    message=$(cat "$dir/message")
    check "nn_compare malformed: $message" 1 timeout 10 "$bin/nn_compare" "$dir" \
        -o "$tmp/malformed-out"
    if grep -qF -- "nn_compare: $dir/metrics.json: " "$tmp/err" &&
       grep -qF -- "$message" "$tmp/err"; then
        passes=$((passes + 1))
    else
        failures=$((failures + 1))
        echo "FAIL nn_compare malformed: no line names the file and says '$message'"
        sed 's/^/  | /' "$tmp/err" | tail -3
    fi
done
check nn_compare_wrote_nothing 1 test -e "$tmp/malformed-out"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
