#!/usr/bin/env bash
# Sets up and runs the main job: builds libnn and trains the default model
# with examples/mnist_train. Uses MNIST from data/mnist, fetching it when
# possible; offline, Debian's Fashion-MNIST (same format) instead.
# Arguments are passed on to mnist_train (e.g. --model deep --epochs 5).
set -euo pipefail
NN_ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$NN_ROOT/tests/packages.sh"
nn_need_packages cmake gcc make
cd "$NN_ROOT"
if [ ! -e data/mnist/train-images-idx3-ubyte ] && [ ! -e data/mnist/train-images-idx3-ubyte.gz ]; then
    if ! data/fetch_mnist.sh; then
        echo "MNIST could not be downloaded: training on Fashion-MNIST instead." >&2
        nn_need_packages dataset-fashion-mnist
    fi
fi
nn_build build -DCMAKE_BUILD_TYPE=Release -DNN_BUILD_TESTS=OFF
exec build/examples/mnist_train "$@"
