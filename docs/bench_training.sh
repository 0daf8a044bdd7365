#!/bin/sh
# Training and inference speed of the convolutional presets against PyTorch,
# in one sitting, as docs/BENCHMARKS.md's tables want them: for each preset
# and thread count,
#   - nn_bench's bare training loop and batch-64 inference (nn_bench --only
#     models: train_ips, infer_ips, direct-equivalent utilisation);
#   - the trainer itself (mnist_train or cifar10_train --epochs 1 --limit N
#     --no-diagnostics: the img/s of its epoch line, training steps only);
#   - PyTorch training and inference (docs/bench_pytorch.py, the same nets,
#     OPENBLAS_NUM_THREADS and torch.set_num_threads pinned).
# One line per preset, thread count and round (ROUNDS, 3 by default: the
# whole list again, so that a burst of load on a shared machine spoils one
# round of a preset rather than all), then a Markdown table of each
# figure's median over the rounds (not the best: on a shared machine a
# PyTorch run came out at twice its usual speed once) and the ratios: training through the trainer against PyTorch (1 thread against
# its 1 thread; 2 threads against the better of its 1 and 2), inference at
# batch 64, and the trainer's 2-thread scaling.
#
# Usage: docs/bench_training.sh [BUILD_DIR [IMAGES]]      (build 6400)
# MODELS (blank-separated; lenet deep deep-bn vgg vgg-gap resnet20 by
# default) chooses the presets. MNIST_DIR (Fashion-MNIST from
# dataset-fashion-mnist by default) and CIFAR_DIR (generated when not set:
# random images in the CIFAR-10 binary format, docs/random_cifar10.sh)
# choose the trainers' data.
# Needs python3-torch, python3-numpy and libopenblas0-pthread. Takes 10 to
# 20 minutes on 2 cores; run it on an otherwise idle machine.
set -eu
build=${1:-build}
images=${2:-6400}
models=${MODELS:-lenet deep deep-bn vgg vgg-gap resnet20}
rounds=${ROUNDS:-3}
here=$(cd "$(dirname "$0")" && pwd)
mnist=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cifar=${CIFAR_DIR:-$work/cifar10}

sh "$here/random_cifar10.sh" "$cifar"

# field NAME LINE: the value of NAME=... in LINE (empty when absent).
field() {
    printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

echo "cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
    "$(grep -c ^processor /proc/cpuinfo) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
round=0
while [ "$round" -lt "$rounds" ]; do
    round=$((round + 1))
    for model in $models; do
        case $model in
        vgg | vgg-gap | resnet20) trainer="$build/examples/cifar10_train --data $cifar" ;;
        *) trainer="$build/examples/mnist_train --data $mnist" ;;
        esac
        # lenet's steps take 2-5 ms: six times the images for an epoch
        # long enough to time
        limit=$images
        [ "$model" = lenet ] && limit=$((images * 6))
        for threads in 1 2; do
            line=$("$build/examples/nn_bench" --only models --models "$model" \
                --threads "$threads" --batch 64 | grep '^model ')
            epoch=$($trainer --model "$model" --epochs 1 --limit "$limit" \
                --threads "$threads" --no-diagnostics |
                sed -n 's/.* \([0-9][0-9]*\) img\/s.*/\1/p' | tail -n 1)
            torch=$(OPENBLAS_NUM_THREADS=$threads /usr/bin/python3 \
                "$here/bench_pytorch.py" --models "$model" --threads "$threads" |
                grep '^pytorch ')
            echo "bench model=$model threads=$threads round=$round" \
                "bench_train_ips=$(field train_ips "$line")" \
                "trainer_ips=$epoch" \
                "infer_ips=$(field infer_ips "$line")" \
                "direct_train_util=$(field direct_train_util "$line")" \
                "wide_direct_train_util=$(field wide_direct_train_util "$line")" \
                "pytorch_train_ips=$(field train_ips "$torch")" \
                "pytorch_infer_ips=$(field infer_ips "$torch")"
        done
    done
done | tee "$work/lines"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

/usr/bin/python3 - "$work/lines" <<'PY'
import statistics
import sys
def num(x):
    try:
        return float(x.rstrip("%"))
    except ValueError:
        return float("nan")

rows = {}
for line in open(sys.argv[1]):
    if not line.startswith("bench "):
        continue
    f = dict(kv.split("=", 1) for kv in line.split()[1:])
    runs = rows.setdefault(f["model"], {}).setdefault(int(f["threads"]), {})
    for key, value in f.items():
        runs.setdefault(key, []).append(value)
for by in rows.values():  # each figure's median over the rounds
    for t, runs in by.items():
        by[t] = {key: ("%g" % statistics.median(num(v) for v in values)) +
                 ("%" if key.endswith("util") else "")
                 if key.endswith(("ips", "util")) else values[0]
                 for key, values in runs.items()}

print()
print("| preset | threads | trainer | bare loop | PyTorch train | train ratio"
      " | libnn infer | PyTorch infer | infer ratio | direct util |")
print("|---|---|---|---|---|---|---|---|---|---|")
for model, by in rows.items():
    best_torch_train = max(num(by[t]["pytorch_train_ips"]) for t in by)
    best_torch_infer = max(num(by[t]["pytorch_infer_ips"]) for t in by)
    for t in sorted(by):
        f = by[t]
        torch_train = num(f["pytorch_train_ips"]) if t == 1 else best_torch_train
        torch_infer = num(f["pytorch_infer_ips"]) if t == 1 else best_torch_infer
        print("| %s | %d | %.0f | %.0f | %.0f | **%.2fx** | %.0f | %.0f | **%.2fx** | %s |"
              % (model, t, num(f["trainer_ips"]), num(f["bench_train_ips"]),
                 torch_train, num(f["trainer_ips"]) / torch_train,
                 num(f["infer_ips"]), torch_infer,
                 num(f["infer_ips"]) / torch_infer, f["direct_train_util"]))
print()
print("| preset | trainer 2 threads / 1 | bare loop 2 / 1 |")
print("|---|---|---|")
for model, by in rows.items():
    if 1 in by and 2 in by:
        print("| %s | %.2fx | %.2fx |" % (
            model, num(by[2]["trainer_ips"]) / num(by[1]["trainer_ips"]),
            num(by[2]["bench_train_ips"]) / num(by[1]["bench_train_ips"])))
PY
