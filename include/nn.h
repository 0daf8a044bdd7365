/* libnn: a small neural-network library in C. This is the one include a
 * program needs; it brings in the public API, one header per subsystem:
 *
 *   nn/core.h    version, status codes, random numbers, the tensor view
 *   nn/net.h     a net: layers or an architecture spec, build, forward,
 *                backward, losses, layer information
 *   nn/optim.h   optimizers (SGD, Adam, RMSprop, AdamW) and learning-rate
 *                schedules
 *   nn/data.h    datasets (MNIST, CIFAR-10), batches, metrics
 *   nn/train.h   the training loop: an epoch, evaluation, memory planning
 *   nn/io.h      model files, ONNX, NumPy and MATLAB weights, checkpoints
 *   nn/layers.h  the layer functions: pure forward and backward passes over
 *                raw arrays
 *   nn/quant.h   int8 models: quantize a trained net, save, load, predict
 *
 * A program: nn_net_create, nn_net_add_spec (or nn_net_add_dense, ...),
 * nn_net_build, nn_optim_create, nn_train_epoch (or nn_net_forward,
 * nn_net_softmax_xent, nn_net_backward, nn_optim_step), nn_model_save; then
 * nn_model_load_inference, nn_net_forward and nn_net_output to predict.
 *
 * nn/advanced.h, not included here, is for libnn's own tools and tests and
 * may change in any release: gemm paths, shards and process groups, noise
 * counters, layers' named tensors and multiply-add counts, atomic file
 * writes, PNG images.
 *
 * Everything public is prefixed nn_ / NN_. Fallible calls return an
 * nn_status; results come back through the last (out) parameter. The library
 * never prints, exits or aborts, and keeps no global mutable state: separate
 * networks may be used from separate threads.
 */
#ifndef NN_H
#define NN_H

#include "nn/core.h"
#include "nn/net.h"
#include "nn/optim.h"
#include "nn/data.h"
#include "nn/train.h"
#include "nn/io.h"
#include "nn/layers.h"
#include "nn/quant.h"

#endif /* NN_H */
