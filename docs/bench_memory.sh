#!/bin/sh
# Peak resident memory (/usr/bin/time -f %M) of a short training run of
# every preset: libnn's trainer (mnist_train or cifar10_train, --epochs 1
# --limit N, batch 64) and PyTorch training the same net the same way
# (docs/bench_pytorch.py --memory: data held as bytes, N images, then the
# test set), with the same threads; and each net's parameter count from
# both, which must agree. One line per figure:
#   memory program=libnn model=lenet threads=1 images=1280 peak_rss_mb=79.1 params=12906
#
# Usage: docs/bench_memory.sh [BUILD_DIR [THREADS [IMAGES]]]   (build 1 1280)
# MODELS (a blank-separated list; every preset by default) chooses the nets.
# MNIST_DIR (Fashion-MNIST from dataset-fashion-mnist by default) and
# CIFAR_DIR (generated when not set: random images in the CIFAR-10 binary
# format, real size, as tests/test_data.c writes small ones) choose the data.
# Needs /usr/bin/time, python3-torch, python3-numpy, libopenblas0-pthread.
set -eu
build=${1:-build}
threads=${2:-1}
images=${3:-1280}
here=$(cd "$(dirname "$0")" && pwd)
mnist=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cifar=${CIFAR_DIR:-$work/cifar10}

sh "$here/random_cifar10.sh" "$cifar"

# peak_mb LOG: the peak RSS /usr/bin/time wrote to LOG, in MB.
peak_mb() {
    awk '{ printf "%.1f", $1 / 1024 }' "$1"
}

models=${MODELS:-mlp lenet deep deep-bn vgg vgg-gap resnet-small resnet20}
for model in $models; do
    case $model in
        vgg*|resnet20) trainer=cifar10_train data=$cifar ;;
        *) trainer=mnist_train data=$mnist ;;
    esac
    /usr/bin/time -f %M -o "$work/rss" "$build/examples/$trainer" --data "$data" \
        --model "$model" --epochs 1 --limit "$images" --threads "$threads" \
        >"$work/out" 2>&1
    params=$(sed -n 's/^total trainable parameters: //p' "$work/out")
    echo "memory program=libnn model=$model threads=$threads images=$images" \
        "peak_rss_mb=$(peak_mb "$work/rss") params=$params"
    OPENBLAS_NUM_THREADS=$threads /usr/bin/time -f %M -o "$work/rss" \
        /usr/bin/python3 "$here/bench_pytorch.py" --memory "$model" --data "$data" \
        --limit "$images" --threads "$threads" >"$work/out" 2>&1
    torch_params=$(/usr/bin/python3 "$here/bench_pytorch.py" --params "$model" |
        sed -n 's/.*total_params=//p')
    echo "memory program=pytorch model=$model threads=$threads images=$images" \
        "peak_rss_mb=$(peak_mb "$work/rss") params=$torch_params"
    [ "$params" = "$torch_params" ] ||
        echo "memory: $model: libnn has $params parameters, PyTorch's net $torch_params" >&2
done
# What PyTorch costs before any net: the interpreter with torch imported.
OPENBLAS_NUM_THREADS=$threads /usr/bin/time -f %M -o "$work/rss" \
    /usr/bin/python3 -c "import torch; torch.set_num_threads($threads)"
echo "memory program=pytorch-import threads=$threads peak_rss_mb=$(peak_mb "$work/rss")"
