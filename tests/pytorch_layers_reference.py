#!/usr/bin/python3
"""Writes tests/fixtures/pytorch_layers.txt: PyTorch's numbers for the
average pooling, leaky relu, RMSprop and AdamW kernels, and for the layer
options (max pooling with padding and ceil mode, average pooling without
its padding and in ceil mode, batchnorm with eps 1e-3), which
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
pool_x = x
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

# The layer options. Drawn after everything above, which keeps its values.
forward_backward(torch.nn.MaxPool2d(3, stride=2, padding=1), "maxpool_k3s2p1", pool_x)
forward_backward(torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
                 "maxpool_k3s2p1_ceil", pool_x)
forward_backward(torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                 "avgpool_k3s2p1_excl", pool_x)
forward_backward(torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
                 "avgpool_k3s2p1_ceil", pool_x)
forward_backward(torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                    count_include_pad=False),
                 "avgpool_k3s2p1_ceil_excl", pool_x)

# Batchnorm with Keras's eps 1e-3 on channels whose variance (2.5e-3) is
# near it: training mode (output, dx, dgamma, dbeta, running statistics),
# then inference mode with the statistics it left.
bn_x = tensor((4, 3, 5, 3), 0.05)
bn = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.1)
with torch.no_grad():
    bn.weight.copy_(tensor(3))
    bn.bias.copy_(tensor(3))
    bn.running_mean.copy_(tensor(3))
    bn.running_var.copy_(tensor(3).abs() + 0.01)
put("bn_input", bn_x.numpy())
put("bn_gamma", bn.weight.detach().numpy())
put("bn_beta", bn.bias.detach().numpy())
put("bn_running0", torch.cat([bn.running_mean, bn.running_var]).numpy())
bn.train()
forward_backward(bn, "bn_eps1e3_train", bn_x)
put("bn_eps1e3_train_dgamma", bn.weight.grad.numpy())
put("bn_eps1e3_train_dbeta", bn.bias.grad.numpy())
put("bn_running1", torch.cat([bn.running_mean, bn.running_var]).numpy())
bn.eval()
forward_backward(bn, "bn_eps1e3_eval", bn_x)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pytorch_layers.txt")
with open(path, "w") as f:
    f.write("# PyTorch %s reference for tests/test_parity_pytorch_layers.c; "
            "written by tests/pytorch_layers_reference.py\n"
            % torch.__version__)
    f.write("\n".join(lines) + "\n")
print("wrote", path)
