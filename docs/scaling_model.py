#!/usr/bin/env python3
"""The scaling model of docs/DISTRIBUTED.md, on paper: expected efficiency of
synchronous data-parallel training with libnn_mpi for a fixed global batch.

    python3 docs/scaling_model.py STEP_SECONDS PARAMS BN_LAYERS [NAME]

STEP_SECONDS: measured compute time of one step of the global batch on one
process (one thread); PARAMS: trainable parameters; BN_LAYERS: batchnorm
layers. Per step and process the gradient sum sends 2 (P-1)/P of the
gradients (4 bytes each: the all-to-all of segments, then the all-gather);
every sum (the gradients', and three per batchnorm layer) costs 2 (P-1)
messages. The batchnorm sums' bytes are left out (a few hundred values).
Model:

    sums = 1 + 3 BN_LAYERS
    T(P) = STEP_SECONDS / P + 2 (P-1)/P * 4 PARAMS / bandwidth
           + sums * 2 (P-1) * latency
    efficiency(P) = (STEP_SECONDS / P) / T(P)

Bandwidth is the link's nominal rate; latency 30 us per message (TCP over
Ethernet; InfiniBand would be a few us).
"""
import sys

LATENCY = 30e-6
LINKS = {"10 Gbit/s": 10e9 / 8, "25 Gbit/s": 25e9 / 8}
PROCESSES = [2, 4, 8, 16, 64]


def table(step, params, bn_layers, name):
    grad_bytes = 4 * params
    sums = 1 + 3 * bn_layers
    print(f"{name}: {step * 1e3:.1f} ms of compute per step on one process, "
          f"{params:,} parameters ({grad_bytes / 1e6:.2f} MB of gradients), "
          f"{sums} sums per step")
    print("| processes | " + " | ".join(
        f"exchange {link} | efficiency {link}" for link in LINKS) + " |")
    print("|---|" + "---|---|" * len(LINKS))
    for p in PROCESSES:
        cells = []
        for bandwidth in LINKS.values():
            exchange = (2 * (p - 1) / p * grad_bytes / bandwidth
                        + sums * 2 * (p - 1) * LATENCY)
            compute = step / p
            cells.append(f"{exchange * 1e3:.2f} ms")
            cells.append(f"{100 * compute / (compute + exchange):.0f}%")
        print(f"| {p} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    table(float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
          sys.argv[4] if len(sys.argv) > 4 else "model")
