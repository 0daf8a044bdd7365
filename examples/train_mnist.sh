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
fashion=/usr/share/datasets/fashion-mnist
data=()
case " $* " in
    *" --data "*) ;; # the caller's data
    *)
        if [ ! -e data/mnist/train-images-idx3-ubyte ] &&
           [ ! -e data/mnist/train-images-idx3-ubyte.gz ]; then
            echo "fetching MNIST into data/mnist ..."
            if ! data/fetch_mnist.sh >/dev/null 2>&1; then
                # Offline: one line, and the trainer is told the directory
                # so that it does not say it again.
                echo "MNIST could not be downloaded (no network?): training on" \
                     "Debian's Fashion-MNIST ($fashion), the same format"
                nn_need_packages dataset-fashion-mnist
                data=(--data "$fashion")
            fi
        fi
        ;;
esac
nn_build build -DCMAKE_BUILD_TYPE=Release -DNN_BUILD_TESTS=OFF
exec build/examples/mnist_train "${data[@]}" "$@"
