#!/usr/bin/python3
"""Compares libnn's int8 logits with ONNX Runtime's on an int8 model's
ONNX export:
    qcompare.py NAME LIBNN.f32 ORT.f32 MODEL.onnx LABELS-IDX MIN-AGREEMENT
K is the number of classes of MODEL.onnx's output. Prints the share of
samples whose class (argmax) agrees, the largest logit difference in
absolute terms and in units of the output's scale (the scale of the final
DequantizeLinear, or per class the scale of the last layer's int32 sums:
one step of the integers libnn computes) and in uint8 steps of the logits'
range ((max - min) / 255 of libnn's logits), and both accuracies; exits 1
when the agreement is below MIN-AGREEMENT (a fraction)."""
import gzip
import sys

import numpy as np
import onnx
from onnx import numpy_helper

name, a_path, b_path, model_path, labels_path, min_agree = sys.argv[1:7]
model = onnx.load(model_path)
inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
producer = {o: n for n in model.graph.node for o in n.output}
last = producer.get("logits") or producer["output"]
if last.op_type == "DequantizeLinear":
    scale = np.float32(inits[last.input[1]])
    unit = "the output scale"
else:  # Conv or Gemm of int32 sums: the scale of its dequantized bias
    scale = inits[producer[last.input[2]].input[1]].astype(np.float32)
    unit = "int32 steps (s_in * w_scale per class)"
k = int(np.prod([d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim[1:]]))
a = np.fromfile(a_path, dtype="<f4").reshape(-1, k)
b = np.fromfile(b_path, dtype="<f4").reshape(-1, k)
assert a.shape == b.shape, (a.shape, b.shape)
raw = gzip.open(labels_path).read() if labels_path.endswith(".gz") else open(labels_path, "rb").read()
labels = np.frombuffer(raw[8:], dtype=np.uint8)[: a.shape[0]]
diff = np.abs(a.astype(np.float64) - b)
steps = diff / scale.astype(np.float64)
step8 = float(a.max() - a.min()) / 255
agree = float((a.argmax(1) == b.argmax(1)).mean())
print(f"{name}: {a.shape[0]} samples, class agrees on {100 * agree:.2f}%, "
      f"max |logit diff| {diff.max():.3g} = {steps.max():.1f} {unit} "
      f"(mean {steps.mean():.2f}) = {diff.max() / step8:.2f} uint8 steps of the logits' range, logits up to {np.abs(a).max():.3g}; accuracy "
      f"libnn int8 {100 * float((a.argmax(1) == labels).mean()):.2f}%, "
      f"ONNX Runtime {100 * float((b.argmax(1) == labels).mean()):.2f}%")
sys.exit(0 if agree >= float(min_agree) else 1)
