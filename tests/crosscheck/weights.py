#!/usr/bin/python3
"""Checks libnn's weight dumps against the ONNX export of the same model:
every initializer of the .onnx (named L<i>_weight, L<i>_bias, L<i>_gamma,
...) equals the .npy file and the .mat variable of the same tensor, shape
and values, bit for bit.
    weights.py MODEL.onnx NPY_DIR WEIGHTS.mat"""
import os
import sys

import numpy as np
import onnx
import scipy.io
from onnx import numpy_helper

model, npy_dir, mat_path = sys.argv[1:4]
names = {"weight": "weight", "bias": "bias", "gamma": "gamma", "beta": "beta",
         "mean": "running_mean", "var": "running_var"}
mat = scipy.io.loadmat(mat_path)
checked = 0
for init in onnx.load(model).graph.initializer:
    layer, _, what = init.name.partition("_")
    if what not in names:
        continue  # shapes and dropout ratios are not weights
    tensor = numpy_helper.to_array(init)
    key = "layer%s_%s" % (layer[1:], names[what])
    npy = np.load(os.path.join(npy_dir, key + ".npy"))
    assert npy.dtype == np.float32 and npy.shape == tensor.shape, (key, npy.shape, tensor.shape)
    assert np.array_equal(npy.view(np.uint32), tensor.view(np.uint32)), key
    m = mat[key]
    assert m.dtype == np.float32, (key, m.dtype)
    want = tensor.reshape(-1, 1) if tensor.ndim == 1 else tensor
    assert m.shape == want.shape, (key, m.shape, want.shape)
    assert np.array_equal(m.view(np.uint32), want.view(np.uint32)), key
    checked += 1
print(f"weights: {checked} tensors identical in the .onnx, the .npy files and the .mat file")
assert checked > 0
