#!/usr/bin/python3
"""Writes the ONNX fixtures of tests/test_onnx.c into tests/fixtures/: a
PyTorch net exported by torch.onnx (torch_mixed.onnx) with its outputs on
four inputs (torch_mixed.txt, in the format of the other PyTorch fixtures),
a residual connection libnn imports (onnx_residual.onnx), and two small
graphs libnn must refuse (an operator it has no layer for, asymmetric
padding).
    cd tests/fixtures && /usr/bin/python3 ../onnx_fixtures.py"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "crosscheck"))
import torch_models as tm  # noqa: E402

torch.manual_seed(3)
net = tm.mixed(); tm.randomize_batchnorm(net); net.eval()
x = np.random.default_rng(5).normal(size=(4, 1, 28, 28)).astype(np.float32)
with torch.no_grad(): y = net(torch.from_numpy(x)).numpy()
torch.onnx.export(net, torch.from_numpy(x[:1]), 'torch_mixed.onnx', opset_version=13,
    input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'N'}, 'output': {0: 'N'}})
with open('torch_mixed.txt', 'w') as f:
    f.write('# PyTorch %s: tests/fixtures/torch_mixed.onnx (tests/crosscheck/torch_models.py mixed(), seed 3) on 4 inputs\n' % torch.__version__)
    for name, v in (('input', x), ('output', y)):
        v = v.ravel(); f.write(name + ' ' + str(v.size) + ' ' + ' '.join('%.9g' % t for t in v) + '\n')
# a residual connection: y = relu(conv(x)) + x
W = numpy_helper.from_array(np.ones((1, 1, 3, 3), np.float32), 'W')
g = helper.make_graph([
    helper.make_node('Conv', ['input', 'W'], ['c'], pads=[1, 1, 1, 1]),
    helper.make_node('Relu', ['c'], ['r']),
    helper.make_node('Add', ['r', 'input'], ['output'])], 'residual',
    [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 1, 4, 4])],
    [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 1, 4, 4])], [W])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), 'onnx_residual.onnx')
# an operator libnn has no layer for
g = helper.make_graph([helper.make_node('Elu', ['input'], ['output'])], 'elu',
    [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3])],
    [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 3])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), 'onnx_elu.onnx')
# asymmetric padding
W2 = numpy_helper.from_array(np.ones((2, 1, 2, 2), np.float32), 'W')
g = helper.make_graph([helper.make_node('Conv', ['input', 'W'], ['output'], pads=[0, 0, 1, 1])], 'asym',
    [helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 1, 4, 4])],
    [helper.make_tensor_value_info('output', TensorProto.FLOAT, ['N', 2, 4, 4])], [W2])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]), 'onnx_asymmetric_pad.onnx')
