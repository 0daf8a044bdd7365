#!/usr/bin/env bash
# End-to-end checks of the command-line programs:
#   test_cli.sh BUILD_EXAMPLES_DIR
# cifar10_train on generated files in the real CIFAR-10 binary layout, a
# save -> predict round trip, and exit codes for bad flags and bad data.
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

# Bad flags: usage and exit 2; unreadable data: exit 1 with the loader's message.
for args in "--epochs 0" "--epochs abc" "--batch -3" "--lr nan" "--lr 1e9" \
            "--optimizer lbfgs" "--schedule sometimes" "--threads 100000" \
            "--kernels fastest" \
            "--model conv3x3" "--bogus" "--epochs"; do
    # shellcheck disable=SC2086
    check "mnist_train $args" 2 "$bin/mnist_train" --data "$tmp/cifar" $args
done
check mnist_train_missing_data 1 "$bin/mnist_train" --data "$tmp/nowhere"
expect_output missing_data_message "nowhere"
check cifar_truncated 1 "$bin/cifar10_train" --data "$tmp/cifar-bad" --epochs 1
mkdir -p "$tmp/cifar-bad" && head -c 5000 "$tmp/cifar/data_batch_1.bin" >"$tmp/cifar-bad/data_batch_1.bin"
check cifar_truncated_file 1 "$bin/cifar10_train" --data "$tmp/cifar-bad" --epochs 1
check help 0 "$bin/mnist_train" --help
expect_output help_lists_options "--weight-decay"
check help_layers 0 "$bin/mnist_train" --help-layers
expect_output help_layers_lists_dropout "dropout\[R\] +dropout"

# Every optimizer, and the new layers, from the command line.
for optimizer in sgd adam rmsprop adamw; do
    check "cifar10_train_optimizer_$optimizer" 0 "$bin/cifar10_train" --data "$tmp/cifar" \
        --model "$small" --epochs 1 --batch 16 --optimizer "$optimizer" --quiet
done
check cifar10_train_vgg_gap 0 "$bin/cifar10_train" --data "$tmp/cifar" --model vgg-gap \
    --epochs 1 --batch 32 --limit 64 --quiet
new_layers="conv3x3x8p1,leakyrelu0.1,avgpool3s2p1,conv3x3x8p1,bn,relu,dropout0.3,gap,dense10"
check cifar10_train_new_layers 0 "$bin/cifar10_train" --data "$tmp/cifar" \
    --model "$new_layers" --epochs 1 --batch 16 --save "$tmp/new.nnm" --quiet
check predict_new_layers 0 "$bin/predict" "$tmp/new.nnm" "$tmp/img.ppm"

# A resume that conflicts with its checkpoint is refused, naming the difference.
check checkpoint_first_epoch 0 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 1 --batch 16 --checkpoint "$tmp/run.ckpt" --quiet
check resume_other_model 1 "$bin/cifar10_train" --data "$tmp/cifar" --model vgg \
    --epochs 2 --batch 16 --resume "$tmp/run.ckpt"
expect_output resume_other_model_message "file's model is conv3x3x8p1"
check resume_other_optimizer 1 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 2 --batch 16 --optimizer adam --resume "$tmp/run.ckpt"
expect_output resume_other_optimizer_message "optimizer sgd, not adam"
check resume_other_momentum 1 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 2 --batch 16 --momentum 0.5 --resume "$tmp/run.ckpt"
expect_output resume_other_momentum_message "momentum 0.9, not 0.5"
check resume_same 0 "$bin/cifar10_train" --data "$tmp/cifar" --model "$small" \
    --epochs 2 --batch 16 --resume "$tmp/run.ckpt" --quiet

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
