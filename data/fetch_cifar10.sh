#!/bin/sh
# Downloads the CIFAR-10 binary version (cifar-10-binary.tar.gz, 162 MB),
# checks its published MD5 sum and extracts the six batch files into
# data/cifar10/ (or the directory given as the first argument):
#   data_batch_1.bin .. data_batch_5.bin, test_batch.bin, batches.meta.txt
#
# Usage: data/fetch_cifar10.sh [directory]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-"$here/cifar10"}
url="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
sum="c32a1d4ab5d03f1284b67883e8d87530" # as published on the CIFAR page
archive="$dest/cifar-10-binary.tar.gz"
inner="cifar-10-batches-bin"
members="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin
data_batch_5.bin test_batch.bin batches.meta.txt"

# md5_of and download, shared with the other fetch script.
. "$(dirname "$0")/fetch_common.sh"

# Explains what to do when the archive cannot be downloaded.
offline_help() {
    cat >&2 <<EOF
fetch_cifar10: could not download $url

Without network access, get cifar-10-binary.tar.gz (MD5 $sum) elsewhere,
put it at $archive and run this script again (it then only extracts), or
copy data_batch_1.bin .. data_batch_5.bin and test_batch.bin into $dest.
EOF
}

# Downloads the archive unless a copy with the right MD5 is already there.
fetch_archive() {
    if [ -f "$archive" ] && [ "$(md5_of "$archive")" = "$sum" ]; then
        echo "fetch_cifar10: using $archive"
        return 0
    fi
    echo "fetch_cifar10: $url"
    if ! download "$url" "$archive.part"; then
        rm -f "$archive.part"
        offline_help
        return 1
    fi
    if [ "$(md5_of "$archive.part")" != "$sum" ]; then
        rm -f "$archive.part"
        echo "fetch_cifar10: the download has the wrong MD5 (expected $sum)" >&2
        return 1
    fi
    mv "$archive.part" "$archive"
}

# Extracts only the expected members and moves them up into $dest.
extract() {
    paths=""
    for member in $members; do
        paths="$paths $inner/$member"
    done
    # shellcheck disable=SC2086 # $paths is a list of member names
    tar -xzf "$archive" -C "$dest" $paths
    for member in $members; do
        mv "$dest/$inner/$member" "$dest/$member"
    done
    rmdir "$dest/$inner"
}

# Succeeds when every batch file is already in $dest.
already_present() {
    for member in $members; do
        [ -f "$dest/$member" ] || return 1
    done
}

mkdir -p "$dest"
if already_present; then
    echo "fetch_cifar10: CIFAR-10 is already in $dest"
    exit 0
fi
fetch_archive
extract
rm -f "$archive"
echo "fetch_cifar10: CIFAR-10 is in $dest"
