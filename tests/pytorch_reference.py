#!/usr/bin/python3
"""Writes tests/fixtures/pytorch_parity.txt: PyTorch's numbers for a small
conv -> batchnorm -> relu -> maxpool -> dense net, which tests/test_parity.c
compares libnn against.

Regenerate (Debian: apt-get install python3-torch python3-numpy):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/pytorch_reference.py

Each fixture line is: name count v1 v2 ... Parameters are written in libnn's
flat layout: conv W (out, in, kh, kw), conv b, bn gamma, bn beta, dense W
(out, in), dense b; state is bn running mean then running var.
"""
import os
import numpy as np
import torch

torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(2026)

N, C, H, W, F, K = 3, 2, 6, 5, 3, 4  # batch, channels, height, width, filters, classes
x = rng.normal(size=(N, C, H, W)).astype(np.float32)
labels = np.array([1, 3, 0], dtype=np.int64)

conv = torch.nn.Conv2d(C, F, 3, stride=1, padding=1)
bn = torch.nn.BatchNorm2d(F)  # eps 1e-5, momentum 0.1
pool = torch.nn.MaxPool2d(2, 2)
flat = F * (H // 2) * (W // 2)
fc = torch.nn.Linear(flat, K)
with torch.no_grad():
    conv.weight.copy_(torch.tensor(rng.normal(scale=0.4, size=conv.weight.shape).astype(np.float32)))
    conv.bias.copy_(torch.tensor(rng.normal(scale=0.1, size=F).astype(np.float32)))
    bn.weight.copy_(torch.tensor(rng.uniform(0.5, 1.5, size=F).astype(np.float32)))
    bn.bias.copy_(torch.tensor(rng.normal(scale=0.1, size=F).astype(np.float32)))
    fc.weight.copy_(torch.tensor(rng.normal(scale=0.3, size=fc.weight.shape).astype(np.float32)))
    fc.bias.copy_(torch.tensor(rng.normal(scale=0.1, size=K).astype(np.float32)))
params = [conv.weight, conv.bias, bn.weight, bn.bias, fc.weight, fc.bias]


def forward(inp):
    y = pool(torch.relu(bn(conv(inp))))
    return fc(y.reshape(inp.shape[0], -1))


def flat_params(grad=False):
    return np.concatenate([(p.grad if grad else p).detach().numpy().ravel() for p in params])


lines = []


def put(name, values):
    values = np.asarray(values, dtype=np.float64).ravel()
    lines.append(name + " " + str(values.size) + " " + " ".join("%.9g" % v for v in values))


put("input", x)
put("labels", labels)
put("params", flat_params())

# Weight decay on conv and dense weights only, as libnn does by default.
opt = torch.optim.SGD([
    {"params": [conv.weight, fc.weight], "weight_decay": 5e-4},
    {"params": [conv.bias, bn.weight, bn.bias, fc.bias], "weight_decay": 0.0},
], lr=0.1, momentum=0.9)

inp = torch.tensor(x, requires_grad=True)
for step in range(3):
    opt.zero_grad()
    if inp.grad is not None:
        inp.grad.zero_()
    out = forward(inp)
    loss = torch.nn.functional.cross_entropy(out, torch.tensor(labels))
    loss.backward()
    if step == 0:
        put("output", out.detach().numpy())
        put("loss", [loss.item()])
        put("grads", flat_params(grad=True))
        put("input_grad", inp.grad.numpy())
    opt.step()
    put("params_after_step%d" % (step + 1), flat_params())
put("state", np.concatenate([bn.running_mean.numpy(), bn.running_var.numpy()]))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pytorch_parity.txt")
with open(path, "w") as f:
    f.write("# PyTorch %s reference for tests/test_parity.c; written by tests/pytorch_reference.py\n" % torch.__version__)
    f.write("\n".join(lines) + "\n")
print("wrote", path)
