#!/usr/bin/python3
"""Compares two raw float32 output files of N rows of K values:
    compare.py [--softmax] NAME A.f32 B.f32 K TOLERANCE [LABELS-IDX]
prints the largest difference relative to the largest |B| of its row, and
whether every row's argmax agrees; exits 1 when either check fails. With an
IDX label file also prints the accuracy of A. With --softmax, A holds
logits and their softmax is compared (libnn's importer leaves out a final
Softmax: its softmax is in the loss)."""
import gzip
import sys

import numpy as np

softmax = sys.argv[1] == "--softmax"
if softmax:
    del sys.argv[1]
name, a_path, b_path, k, tol = sys.argv[1:6]
a = np.fromfile(a_path, dtype="<f4").reshape(-1, int(k))
if softmax:
    e = np.exp(a.astype(np.float64) - a.max(axis=1, keepdims=True))
    a = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
    name += " (softmax of libnn's logits)"
b = np.fromfile(b_path, dtype="<f4").reshape(-1, int(k))
assert a.shape == b.shape, (a.shape, b.shape)
scale = np.maximum(np.abs(b).max(axis=1, keepdims=True), 1e-6)
rel = float((np.abs(a - b) / scale).max())
same = int((a.argmax(1) == b.argmax(1)).sum())
line = f"{name}: {a.shape[0]} samples, max relative difference {rel:.2e}, argmax agrees on {same}/{a.shape[0]}"
if len(sys.argv) > 6:
    raw = gzip.open(sys.argv[6]).read() if sys.argv[6].endswith(".gz") else open(sys.argv[6], "rb").read()
    labels = np.frombuffer(raw[8:], dtype=np.uint8)
    line += f", accuracy {100 * float((a.argmax(1) == labels).mean()):.2f}%"
print(line)
sys.exit(0 if rel <= float(tol) and same == a.shape[0] else 1)
