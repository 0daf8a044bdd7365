#!/usr/bin/python3
"""Benchmark aid (not part of libnn or its tests): PyTorch's training and
inference speed, and optionally accuracy, on Fashion-MNIST for the presets
mlp, lenet and deep, with the same settings as mnist_train.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 docs/bench_pytorch.py --threads 1
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 docs/bench_pytorch.py --threads 2
    /usr/bin/python3 docs/bench_pytorch.py --accuracy lenet --epochs 5

Needs Debian's python3-torch and python3-numpy, and dataset-fashion-mnist.
Prints one line per figure: `pytorch model=lenet threads=1 train_ips=...`.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist"


def load(prefix):
    with gzip.open(os.path.join(DATA, prefix + "-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(os.path.join(DATA, prefix + "-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.tensor(x, dtype=torch.float32) / 255.0, torch.tensor(y, dtype=torch.int64)


def model(name):
    nn = torch.nn
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="mlp,lenet,deep")
    ap.add_argument("--batches", type=int, default=0, help="timed batches (default: per model)")
    ap.add_argument("--accuracy", help="train this model for --epochs and print test accuracy")
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x, y = load("train")
    if args.accuracy:
        xt, yt = load("t10k")
        accuracy(args.accuracy, x, y, xt, yt, args.epochs)
        return
    for name in args.models.split(","):
        batches = args.batches or {"mlp": 2000, "lenet": 300, "deep": 30}[name]
        train_ips, infer_ips = train_speed(name, x, y, batches)
        print("pytorch %s model=%s threads=%d batch=64 train_ips=%.0f infer_ips=%.0f"
              % (torch.__version__, name, args.threads, train_ips, infer_ips), flush=True)


if __name__ == "__main__":
    main()
