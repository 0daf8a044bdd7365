#!/bin/sh
# Downloads the four MNIST files into data/mnist/ (or the directory given as
# the first argument) and checks each against its published MD5 sum. Files
# already present with the right sum are kept. The files stay gzip-compressed:
# libnn reads .gz directly.
#
# Usage: data/fetch_mnist.sh [directory]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-"$here/mnist"}
mirrors="https://ossci-datasets.s3.amazonaws.com/mnist
https://storage.googleapis.com/cvdf-datasets/mnist"
# name and MD5 of the canonical files (as published by the MNIST mirrors and
# used by torchvision)
files="train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873
train-labels-idx1-ubyte.gz d53e105ee54ea40749a09fcbcd1e9432
t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3
t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c"

# md5_of and download, shared with the other fetch script.
. "$(dirname "$0")/fetch_common.sh"

# Explains what to do when the files cannot be downloaded.
offline_help() {
    cat >&2 <<EOF
fetch_mnist: could not download $1 from any mirror.

Without network access, copy the four MNIST files
  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
  t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz
(plain or .gz) into $dest by hand.

Fashion-MNIST has the same format and sizes (60000 + 10000 images of
28x28, 10 classes). On Debian and Ubuntu it is packaged:
  sudo apt-get install dataset-fashion-mnist
which installs /usr/share/datasets/fashion-mnist/*.gz; point libnn at that
directory (nn_mnist_load_dir) instead of $dest.
EOF
    if [ -d /usr/share/datasets/fashion-mnist ]; then
        echo "(It is already installed here: /usr/share/datasets/fashion-mnist)" >&2
    fi
}

# Downloads one file from the first mirror that serves the right bytes.
fetch_one() {
    name=$1
    sum=$2
    if [ -f "$dest/$name" ] && [ "$(md5_of "$dest/$name")" = "$sum" ]; then
        echo "fetch_mnist: $name already present"
        return 0
    fi
    for mirror in $mirrors; do
        echo "fetch_mnist: $mirror/$name"
        if download "$mirror/$name" "$dest/$name.part"; then
            if [ "$(md5_of "$dest/$name.part")" = "$sum" ]; then
                mv "$dest/$name.part" "$dest/$name"
                return 0
            fi
            echo "fetch_mnist: $name from $mirror has the wrong MD5, trying the next mirror" >&2
        fi
        rm -f "$dest/$name.part"
    done
    offline_help "$name"
    return 1
}

mkdir -p "$dest"
echo "$files" | while read -r name sum; do
    fetch_one "$name" "$sum"
done
echo "fetch_mnist: MNIST is in $dest"
