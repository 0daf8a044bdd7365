#!/usr/bin/env python3
"""Small MNIST-format data for the command-line tests (test_cli.sh,
test_mpi.sh): make_mnist.py DIR TRAIN TEST writes DIR's four IDX files,
TRAIN training and TEST test images of 28x28, class k a bright row 2 + 2k
on noise (seeded: the same files every time)."""
import os
import random
import struct
import sys


def write(directory, prefix, n):
    labels = [random.randrange(10) for _ in range(n)]
    pixels = bytearray()
    for k in labels:
        img = [random.randrange(40) for _ in range(784)]
        for x in range(28):
            img[(2 + 2 * k) * 28 + x] = 250
        pixels.extend(img)
    with open(os.path.join(directory, prefix + "-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + pixels)
    with open(os.path.join(directory, prefix + "-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels))


def main():
    directory, train, test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    random.seed(3)
    os.makedirs(directory, exist_ok=True)
    write(directory, "train", train)
    write(directory, "t10k", test)


if __name__ == "__main__":
    main()
