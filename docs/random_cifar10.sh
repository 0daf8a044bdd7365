#!/bin/sh
# Writes a CIFAR-10-format data set of random images into DIR, the real
# size (5 training files and a test file of 10,000 records: a label below
# 10, then 3x32x32 bytes), unless DIR/test_batch.bin exists already. For
# the benchmark scripts (bench_memory.sh, bench_training.sh), which time
# cifar10_train where real CIFAR-10 cannot be downloaded.
#
# Usage: docs/random_cifar10.sh DIR        (needs python3-numpy)
set -eu
dir=$1
[ -f "$dir/test_batch.bin" ] && exit 0
mkdir -p "$dir"
/usr/bin/python3 - "$dir" <<'PY'
import os, sys
import numpy as np
rng = np.random.default_rng(1)
names = ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]
for name in names:
    records = rng.integers(0, 256, (10000, 3073), dtype=np.uint8)
    records[:, 0] %= 10
    records.tofile(os.path.join(sys.argv[1], name))
PY
