#!/usr/bin/python3
"""Writes tests/fixtures/pytorch_residual.txt: PyTorch's numbers for a small
residual net, which tests/test_parity_residual.c compares libnn against:

    input (3, 9, 7)
    block b1: conv3x3 s2 p1, bn, relu, conv3x3 p1, bn
              + shortcut sc: conv1x1 s2, bn (reading the block's input); relu
    block b2: conv3x3 p1, bn, relu, conv3x3 p1, bn + identity; relu
    global average pooling, fc (5 classes), softmax cross-entropy

in training mode with a batch of 4, then three SGD steps (lr 0.1, momentum
0.9, weight decay 5e-4 on conv and fc weights only, as libnn decays), then
the same batch in inference mode.

Regenerate (Debian: apt-get install python3-torch python3-numpy):
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tests/pytorch_residual_reference.py

Each fixture line is: name count v1 v2 ... in PyTorch's names (conv
"weight" (out, in, kh, kw) and "bias", batchnorm "weight" = gamma, "bias" =
beta, "running_mean", "running_var", fc "weight" (out, in) and "bias"):
    <tensor>        initial values (running statistics not PyTorch's 0 and 1,
                    so that loading them is checked too)
    grad.<tensor>   dL/d<tensor> of the first forward and backward pass
    step3.<tensor>  values after the third step (running statistics too)
with input, labels, logits, probs, loss, input_grad (first pass),
eval_logits (inference mode after the steps) and param_count.
"""
import os
import numpy as np
import torch
from torch import nn

torch.set_num_threads(1)
torch.manual_seed(0)
torch.use_deterministic_algorithms(True)
rng = np.random.default_rng(2031)

N, C, H, W, F, K = 4, 3, 9, 7, 8, 5  # batch, channels, height, width, filters, classes
LR, MOMENTUM, DECAY, STEPS = 0.1, 0.9, 5e-4, 3


class Block(nn.Module):
    """A basic block; with stride 2 its shortcut is a 1x1 projection + bn."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(cout)  # eps 1e-5, momentum 0.1
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=True)
        self.bn2 = nn.BatchNorm2d(cout)
        self.sc = None
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=True),
                                    nn.BatchNorm2d(cout))

    def forward(self, x, kinks):
        pre = self.bn1(self.conv1(x))
        kinks.append(pre)
        y = self.bn2(self.conv2(torch.relu(pre)))
        pre = y + (self.sc(x) if self.sc is not None else x)
        kinks.append(pre)
        return torch.relu(pre)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = Block(C, F, 2)
        self.b2 = Block(F, F, 1)
        self.fc = nn.Linear(F, K)

    def forward(self, x, kinks):
        y = self.b2(self.b1(x, kinks), kinks)
        return self.fc(y.mean(dim=(2, 3)))


net = Net()
with torch.no_grad():
    for name, p in net.named_parameters():
        if ".bn" in name or ".sc.1." in name:  # batchnorm gamma, beta
            value = rng.uniform(0.5, 1.5, p.shape) if name.endswith("weight") \
                else rng.normal(scale=0.1, size=p.shape)
        elif name.endswith("weight"):  # He-normal conv and fc weights
            value = rng.normal(scale=np.sqrt(2.0 / p[0].numel()), size=p.shape)
        else:
            value = rng.normal(scale=0.1, size=p.shape)
        p.copy_(torch.tensor(value.astype(np.float32)))
    for name, b in net.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(torch.tensor(rng.normal(scale=0.2, size=b.shape).astype(np.float32)))
        elif name.endswith("running_var"):
            b.copy_(torch.tensor(rng.uniform(0.5, 2.0, b.shape).astype(np.float32)))

params = dict(net.named_parameters())
stats = {n: b for n, b in net.named_buffers() if "running" in n}
x = rng.normal(size=(N, C, H, W)).astype(np.float32)
labels = np.array([1, 4, 0, 2], dtype=np.int64)

lines = []


def put(name, values):
    assert len(name) < 32, name  # tests/testutil.c reads names of up to 31 chars
    values = np.asarray(values, dtype=np.float64).ravel()
    lines.append(name + " " + str(values.size) + " " + " ".join("%.9g" % v for v in values))


def put_tensors(prefix, tensors):
    for name, t in tensors.items():
        put(prefix + name, t.detach().numpy())


def check_kinks(kinks):
    """Every relu input at least 1e-4 from 0 (100 times the differences
    libnn's rounding makes), so that libnn takes the same side of each kink."""
    closest = min(k.detach().abs().min().item() for k in kinks)
    assert closest > 1e-4, "a relu input is %g from its kink: change the seed" % closest
    return closest


put("input", x)
put("labels", labels)
put("param_count", [sum(p.numel() for p in params.values())])
put_tensors("", params)
put_tensors("", stats)

decayed = [p for n, p in params.items()
           if n.endswith("weight") and ".bn" not in n and ".sc.1." not in n]
others = [p for p in params.values() if all(p is not q for q in decayed)]
opt = torch.optim.SGD([{"params": decayed, "weight_decay": DECAY},
                       {"params": others, "weight_decay": 0.0}],
                      lr=LR, momentum=MOMENTUM)

net.train()
inp = torch.tensor(x, requires_grad=True)
closest = 1.0
for step in range(STEPS):
    opt.zero_grad()
    inp.grad = None
    kinks = []
    out = net(inp, kinks)
    closest = min(closest, check_kinks(kinks))
    loss = nn.functional.cross_entropy(out, torch.tensor(labels))
    loss.backward()
    if step == 0:
        put("logits", out.detach().numpy())
        put("probs", torch.softmax(out, dim=1).detach().numpy())
        put("loss", [loss.item()])
        put_tensors("grad.", {n: p.grad for n, p in params.items()})
        put("input_grad", inp.grad.numpy())
    opt.step()
put_tensors("step%d." % STEPS, params)
put_tensors("step%d." % STEPS, stats)

net.eval()
with torch.no_grad():
    kinks = []
    put("eval_logits", net(torch.tensor(x), kinks).numpy())
    closest = min(closest, check_kinks(kinks))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "pytorch_residual.txt")
with open(path, "w") as f:
    f.write("# PyTorch %s reference for tests/test_parity_residual.c; "
            "written by tests/pytorch_residual_reference.py\n" % torch.__version__)
    f.write("\n".join(lines) + "\n")
print("wrote %s (%d lines); closest relu input to its kink: %.3g" % (path, len(lines), closest))
