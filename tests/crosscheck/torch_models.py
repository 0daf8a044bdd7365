#!/usr/bin/python3
"""PyTorch's side of tests/crosscheck.sh: nets equivalent to libnn's presets
(and one with batchnorm, average pooling, leaky relu and dropout), exported
with torch.onnx.export for libnn to import.
    torch_models.py OUTDIR
writes OUTDIR/NAME.onnx, OUTDIR/NAME.in.f32 (32 random inputs) and
OUTDIR/NAME.out.f32 (PyTorch's outputs for them), and prints one line per
net: NAME C H W CLASSES."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_num_threads(1)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


def deep():
    return nn.Sequential(
        nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 10))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def mixed():
    """batchnorm, average pooling (padding counted), leaky relu, dropout,
    global average pooling, and a batchnorm after a dense layer"""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.1),
        nn.AvgPool2d(3, stride=2, padding=1),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Dropout(0.3),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 32), nn.BatchNorm1d(32),
        nn.Tanh(), nn.Linear(32, 10))


def randomize_batchnorm(net):
    """running statistics and affine parameters away from 0 and 1, so that
    they matter in the comparison"""
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(1)
    for name, make in (("mlp", mlp), ("lenet", lenet), ("deep", deep), ("mixed", mixed)):
        net = make()
        randomize_batchnorm(net)
        net.eval()
        x = rng.normal(size=(32, 1, 28, 28)).astype(np.float32)
        with torch.no_grad():
            y = net(torch.from_numpy(x)).numpy()
        torch.onnx.export(net, torch.from_numpy(x[:1]), os.path.join(out, name + ".onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
        x.tofile(os.path.join(out, name + ".in.f32"))
        y.astype(np.float32).tofile(os.path.join(out, name + ".out.f32"))
        print(name, 1, 28, 28, y.shape[1])


if __name__ == "__main__":
    main(sys.argv[1])
