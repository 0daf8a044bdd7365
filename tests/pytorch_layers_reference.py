#!/usr/bin/python3
"""Writes tests/fixtures/pytorch_layers.txt: PyTorch's numbers for the
average pooling, leaky relu, RMSprop and AdamW kernels, which
tests/test_parity_pytorch_layers.c compares libnn against.

Regenerate (Debian: apt-get install python3-torch python3-numpy):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/pytorch_layers_reference.py

Each fixture line is: name count v1 v2 ... Tensors are written flat in
NCHW order; optimizer rows hold the 10 parameters after each of 5 steps.
"""
import os
import numpy as np
import torch

torch.set_num_threads(1)
rng = np.random.default_rng(2027)
lines = []


def put(name, values):
    values = np.asarray(values, dtype=np.float64).ravel()
    lines.append(name + " " + str(values.size) + " " + " ".join("%.9g" % v for v in values))


def tensor(shape, scale=1.0):
    return torch.tensor(rng.normal(scale=scale, size=shape).astype(np.float32))


def forward_backward(module, name, x):
    """module(x) and dL/dx for L = sum(dy * y), dy a fixed random tensor."""
    inp = x.clone().requires_grad_(True)
    y = module(inp)
    dy = tensor(y.shape)
    y.backward(dy)
    put(name + "_out", y.detach().numpy())
    put(name + "_dy", dy.numpy())
    put(name + "_dx", inp.grad.numpy())


x = tensor((2, 3, 7, 6))
put("avgpool_input", x.numpy())
forward_backward(torch.nn.AvgPool2d(3, stride=2, padding=1), "avgpool_k3s2p1", x)
forward_backward(torch.nn.AvgPool2d(2, stride=2, padding=0), "avgpool_k2s2p0", x)

x = tensor((2, 3, 5, 3))
put("gap_input", x.numpy())
forward_backward(torch.nn.AdaptiveAvgPool2d(1), "gap", x)

# Away from the kink at 0: |x| >= 0.05.
x = tensor((4, 6))
x = torch.where(x.abs() < 0.05, torch.full_like(x, 0.3), x)
put("leaky_input", x.numpy())
forward_backward(torch.nn.LeakyReLU(0.1), "leaky", x)

N_PARAMS, STEPS = 10, 5
w0 = tensor(N_PARAMS)
grads = [tensor(N_PARAMS, 0.5) for _ in range(STEPS)]
put("optim_w0", w0.numpy())
put("optim_grads", torch.stack(grads).numpy())


def run(name, make):
    w = torch.nn.Parameter(w0.clone())
    opt = make([w])
    rows = []
    for g in grads:
        w.grad = g.clone()
        opt.step()
        rows.append(w.detach().numpy().copy())
    put(name, np.stack(rows))


run("rmsprop_plain", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8,
                                                    momentum=0, weight_decay=0))
run("rmsprop_momentum", lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.99, eps=1e-8,
                                                       momentum=0.9, weight_decay=0.01))
run("adamw", lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.999), eps=1e-8,
                                         weight_decay=0.01))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pytorch_layers.txt")
with open(path, "w") as f:
    f.write("# PyTorch %s reference for tests/test_parity_pytorch_layers.c; "
            "written by tests/pytorch_layers_reference.py\n"
            % torch.__version__)
    f.write("\n".join(lines) + "\n")
print("wrote", path)
