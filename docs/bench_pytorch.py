#!/usr/bin/python3
"""Benchmark aid (not part of libnn or its tests): PyTorch's training and
inference speed, and optionally accuracy, on Fashion-MNIST for the presets
mlp, lenet, deep, deep-bn and resnet-small, and on CIFAR-10-shaped input
(3x32x32, random values) for vgg, vgg-gap and resnet20, with the same
settings as mnist_train/cifar10_train.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 docs/bench_pytorch.py --threads 1
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 docs/bench_pytorch.py --threads 2
    /usr/bin/python3 docs/bench_pytorch.py --models vgg,vgg-gap --threads 1
    /usr/bin/python3 docs/bench_pytorch.py --accuracy lenet --epochs 5
    /usr/bin/python3 docs/bench_pytorch.py --params vgg
    /usr/bin/python3 docs/bench_pytorch.py --memory vgg --data DIR --limit 640

--memory trains like `mnist_train/cifar10_train --epochs 1 --limit N`: the
whole data set held as bytes (as libnn's loaders do), N images in batches
of 64, then the test set evaluated; run it under /usr/bin/time -f %M
(docs/bench_memory.sh). --threads also sets OPENBLAS_NUM_THREADS (when not
set already) before torch loads OpenBLAS.

Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread (without
it PyTorch's dense layers run on the slow reference BLAS), and
dataset-fashion-mnist. Prints one line per figure:
`pytorch model=lenet threads=1 train_ips=...`.
"""
import argparse
import gzip
import os
import sys
import time


def pinned_threads(argv):
    """The --threads value in argv (1 when absent), read before torch loads."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
    return "1"


os.environ.setdefault("OPENBLAS_NUM_THREADS", pinned_threads(sys.argv))

import numpy as np  # noqa: E402 (after OPENBLAS_NUM_THREADS is set)
import torch  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
CIFAR = ("vgg", "vgg-gap", "resnet20")  # presets on CIFAR-10 input (3x32x32)


def load_mnist_bytes(prefix, directory=DATA):
    """An MNIST-format set as bytes: x (N, 1, 28, 28) uint8, y int64."""
    with gzip.open(os.path.join(directory, prefix + "-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x), torch.tensor(y, dtype=torch.int64)


def load(prefix):
    x, y = load_mnist_bytes(prefix)
    return x.float() / 255.0, y


def cifar_block(nn, cin, cout):
    """vgg's conv3x3xNp1,bn,relu twice."""
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]


class BasicBlock(torch.nn.Module):
    """libnn's basic block: conv3x3,bn,relu,conv3x3,bn, plus the input (or,
    when the shape changes, a strided 1x1 convolution with bn of it), relu."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        nn = torch.nn
        self.main = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout),
                                  nn.ReLU(), nn.Conv2d(cout, cout, 3, 1, 1),
                                  nn.BatchNorm2d(cout))
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

    def forward(self, x):
        return torch.relu(self.main(x) + self.shortcut(x))


def resnet(cin, widths, blocks):
    """A stem conv3x3,bn,relu of widths[0] channels, then blocks[i] basic
    blocks of widths[i] channels (stride 2 first, after the first stage),
    global average pooling and a dense layer to 10 classes."""
    nn = torch.nn
    layers = [nn.Conv2d(cin, widths[0], 3, 1, 1), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    c = widths[0]
    for stage, (width, count) in enumerate(zip(widths, blocks)):
        for b in range(count):
            layers.append(BasicBlock(c, width, 2 if stage > 0 and b == 0 else 1))
            c = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def model(name):
    nn = torch.nn
    if name == "resnet20":
        return resnet(3, (16, 32, 64), (3, 3, 3))
    if name == "resnet-small":
        return resnet(1, (16, 32, 64), (1, 2, 2))
    if name in CIFAR:
        convs = (cifar_block(nn, 3, 32) + [nn.MaxPool2d(2)] + cifar_block(nn, 32, 64)
                 + [nn.MaxPool2d(2)] + cifar_block(nn, 64, 128))
        if name == "vgg":
            return nn.Sequential(*convs, nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2048, 128),
                                 nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 10))
        return nn.Sequential(*convs, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.3),
                             nn.Linear(128, 10))
    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(784, 10))
    if name == "deep":
        return nn.Sequential(nn.Conv2d(1, 64, 3), nn.ReLU(), nn.Conv2d(64, 64, 3), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Conv2d(64, 128, 3), nn.ReLU(),
                             nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(2048, 256), nn.ReLU(), nn.Linear(256, 10))
    if name == "deep-bn":
        return nn.Sequential(nn.Conv2d(1, 64, 3), nn.BatchNorm2d(64), nn.ReLU(),
                             nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(64, 128, 3), nn.BatchNorm2d(128), nn.ReLU(),
                             nn.Conv2d(128, 128, 3), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(2048, 256), nn.BatchNorm1d(256), nn.ReLU(),
                             nn.Linear(256, 10))
    raise ValueError(name)


def optimizer(net, lr):
    return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


def train_speed(name, x, y, batches, batch=64):
    net = model(name)
    opt = optimizer(net, 0.05)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
        opt.zero_grad()
        loss_fn(net(xb), yb).backward()
        opt.step()

    for i in range(5):
        step(i)
    start = time.perf_counter()
    for i in range(batches):
        step(i % (len(x) // batch))
    train_ips = batches * batch / (time.perf_counter() - start)
    net.eval()
    with torch.no_grad():
        for i in range(3):
            net(x[:batch])
        start = time.perf_counter()
        for i in range(batches):
            j = i % (len(x) // batch)
            net(x[j * batch:(j + 1) * batch])
        infer_ips = batches * batch / (time.perf_counter() - start)
    return train_ips, infer_ips


def accuracy(name, x, y, xt, yt, epochs, batch=64, lr=0.05, seed=1):
    torch.manual_seed(seed)
    net = model(name)
    opt = optimizer(net, lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x))
        start = time.perf_counter()
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            correct = sum((net(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
                          for i in range(0, len(xt), 1000))
        print("pytorch model=%s epoch=%d test_accuracy=%.4f seconds=%.1f"
              % (name, epoch + 1, correct / len(xt), seconds), flush=True)


def load_cifar(directory):
    """CIFAR-10 binary batches as bytes: (train x, y), (test x, y)."""
    def read(names):
        raw = np.concatenate([np.fromfile(os.path.join(directory, n), np.uint8) for n in names])
        records = raw.reshape(-1, 3073)
        return (torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy()),
                torch.from_numpy(records[:, 0].astype(np.int64)))
    return read(["data_batch_%d.bin" % i for i in range(1, 6)]), read(["test_batch.bin"])


def load_bytes(name, directory):
    """The data set of a preset as bytes, as libnn's loaders hold it."""
    if name in CIFAR:
        return load_cifar(directory)
    return load_mnist_bytes("train", directory), load_mnist_bytes("t10k", directory)


def memory_run(name, directory, limit, batch=64):
    """mnist_train/cifar10_train --epochs 1 --limit N: train, then test."""
    (x, y), (xt, yt) = load_bytes(name, directory)
    net = model(name)
    opt = optimizer(net, 0.05)
    loss_fn = torch.nn.CrossEntropyLoss()
    for i in range(0, limit, batch):
        opt.zero_grad()
        loss_fn(net(x[i:i + batch].float() / 255), y[i:i + batch]).backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        correct = sum((net(xt[i:i + batch].float() / 255).argmax(1) == yt[i:i + batch]).sum().item()
                      for i in range(0, len(xt), batch))
    print("pytorch model=%s memory_run images=%d test_accuracy=%.4f"
          % (name, limit, correct / len(xt)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="mlp,lenet,deep")
    ap.add_argument("--batches", type=int, default=0, help="timed batches (default: per model)")
    ap.add_argument("--accuracy", help="train this model for --epochs and print test accuracy")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--params", help="print this model's trainable parameters per layer")
    ap.add_argument("--memory", help="a short training run of this model (see above)")
    ap.add_argument("--data", default=DATA, help="--memory: the data set's directory")
    ap.add_argument("--limit", type=int, default=1280, help="--memory: images trained on")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.params:
        net = model(args.params)
        for i, layer in enumerate(net):
            print("pytorch model=%s layer=%d %s params=%d"
                  % (args.params, i, type(layer).__name__, sum(p.numel() for p in layer.parameters())))
        print("pytorch model=%s total_params=%d" % (args.params, sum(p.numel() for p in net.parameters())))
        return
    if args.memory:
        memory_run(args.memory, args.data, args.limit)
        return
    names = args.models.split(",")
    if any(n not in CIFAR for n in names) or args.accuracy:
        x, y = load("train")
    if args.accuracy:
        xt, yt = load("t10k")
        accuracy(args.accuracy, x, y, xt, yt, args.epochs)
        return
    for name in names:
        batches = args.batches or {"mlp": 2000, "lenet": 300, "deep": 30, "deep-bn": 30,
                                  "vgg": 30, "vgg-gap": 30, "resnet20": 30,
                                  "resnet-small": 30}[name]
        xs, ys = (x, y) if name not in CIFAR else (None, None)
        if name in CIFAR:  # random CIFAR-shaped data: speed only
            generator = torch.Generator().manual_seed(1)
            xs = torch.rand(64 * 16, 3, 32, 32, generator=generator)
            ys = torch.randint(0, 10, (64 * 16,), generator=generator)
        train_ips, infer_ips = train_speed(name, xs, ys, batches)
        print("pytorch %s model=%s threads=%d batch=64 train_ips=%.0f infer_ips=%.0f"
              % (torch.__version__, name, args.threads, train_ips, infer_ips), flush=True)


if __name__ == "__main__":
    main()
