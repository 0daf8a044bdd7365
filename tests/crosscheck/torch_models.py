#!/usr/bin/python3
"""PyTorch's side of tests/crosscheck.sh: nets equivalent to libnn's presets
(and one with batchnorm, average pooling, leaky relu and dropout) and small
residual nets, exported with torch.onnx.export for libnn to import.
    torch_models.py OUTDIR
writes OUTDIR/NAME.onnx, OUTDIR/NAME.in.f32 (32 random inputs) and
OUTDIR/NAME.out.f32 (PyTorch's outputs for them: logits, or probabilities
for the residual nets), and prints one line per net: NAME C H W CLASSES."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

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


class Block(nn.Module):
    """A basic residual block: relu(bn(conv(relu(bn(conv(x))))) + s(x)), the
    shortcut s the identity, "B" a 1x1 convolution with batchnorm (when the
    shape changes), or "A" every other pixel with its channels padded with
    zeros (the CIFAR ResNets of He et al.); or, pre_act, the pre-activation
    block conv(relu(bn(conv(relu(bn(x)))))) + x, whose batchnorms follow no
    convolution (the exporter folds the others into theirs)."""

    def __init__(self, cin, cout, stride=1, shortcut=None, pre_act=False):
        super().__init__()
        self.pre_act, self.shortcut, self.pad = pre_act, shortcut, (cout - cin) // 2
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cin if pre_act else cout)
        self.bn2 = nn.BatchNorm2d(cout)
        if shortcut == "B":
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        if self.pre_act:
            return x + self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.shortcut == "B":
            s = self.proj(x)
        elif self.shortcut == "A":
            s = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        else:
            s = x
        return F.relu(y + s)


class ResNet(nn.Module):
    """A small residual net for 3x32x32: a stem (conv, batchnorm, relu, and
    with stem_pool ImageNet ResNets' max pooling 3, stride 2, padding 1), a
    block with an identity shortcut, one that halves the size with a
    `shortcut` one, a pre-activation block, then head "mean" (x.mean([2,
    3]), a Linear with bias: ReduceMean and Gemm) or "pool" (adaptive
    average pooling, flatten, a Linear without bias: GlobalAveragePool,
    Flatten and MatMul), and the softmax: probabilities out."""

    def __init__(self, shortcut, head, stem_pool=False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(8), nn.ReLU(),
                                  *([nn.MaxPool2d(3, 2, 1)] if stem_pool else []))
        self.blocks = nn.Sequential(Block(8, 8), Block(8, 16, 2, shortcut),
                                    Block(16, 16, pre_act=True))
        self.head = head
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10, bias=head == "mean")

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = x.mean([2, 3]) if self.head == "mean" else torch.flatten(self.pool(x), 1)
        return F.softmax(self.fc(x), dim=1)


def resnet_b():
    return ResNet("B", "mean", stem_pool=True)


def resnet_a():
    return ResNet("A", "pool")


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
    # resnet_a without constant folding: the exporter leaves the Transpose
    # of the Linear's weight before its MatMul for libnn to fold
    for name, make, shape, fold in (("mlp", mlp, (1, 28, 28), True),
                                    ("lenet", lenet, (1, 28, 28), True),
                                    ("deep", deep, (1, 28, 28), True),
                                    ("mixed", mixed, (1, 28, 28), True),
                                    ("resnet_b", resnet_b, (3, 32, 32), True),
                                    ("resnet_a", resnet_a, (3, 32, 32), True)):
        net = make()
        randomize_batchnorm(net)
        net.eval()
        x = rng.normal(size=(32,) + shape).astype(np.float32)
        with torch.no_grad():
            y = net(torch.from_numpy(x)).numpy()
        torch.onnx.export(net, torch.from_numpy(x[:1]), os.path.join(out, name + ".onnx"),
                          opset_version=13, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                          do_constant_folding=fold)
        x.tofile(os.path.join(out, name + ".in.f32"))
        y.astype(np.float32).tofile(os.path.join(out, name + ".out.f32"))
        print(name, *shape, y.shape[1])


if __name__ == "__main__":
    main(sys.argv[1])
