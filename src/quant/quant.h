/* What src/quant shares with libnn's file formats and tests: making,
 * checking and preparing an nn_qmodel (src/quant/qmodel.c). */
#ifndef NN_QUANT_QUANT_H
#define NN_QUANT_QUANT_H

#include <stddef.h>

#include "quant/qmodel.h"

/* Largest values of one tensor sample (c*h*w) an int8 model accepts. */
#define NN_QMAX_TENSOR ((size_t)1 << 26)

/* A new model of op_count ops (tensor_count = op_count + 1), every field
 * zero; NULL when out of memory or op_count is not in 1..NN_QMAX_OPS. */
nn_qmodel *nn_qmodel_new(int op_count);
/* Allocates the arrays of a CONV, DENSE or AFFINE op whose out_c, in_c,
 * kh, kw and int32_out are set (zeroed). */
nn_status nn_qconv_alloc(nn_qconv *c);
/* Weights of one output channel of c (in_c * kh * kw). */
size_t nn_qconv_depth(const nn_qconv *c);
/* Checks every field of q as a loader must (shapes, ranges, scales,
 * multipliers, sums that must fit int32), without its bias_folded; msg
 * names the first fault. NN_EFORMAT when one is found. */
nn_status nn_qmodel_check(const nn_qmodel *q, char *msg, size_t msg_size);
/* Derives bias_folded, packs the weights and allocates the buffers for
 * batches of up to max_batch (after nn_qmodel_check said yes). */
nn_status nn_qmodel_prepare(nn_qmodel *q, int max_batch, char *msg,
                            size_t msg_size);
/* Whether kernels may use AVX2 (default 1; tests compare both paths). */
void nn_qmodel_set_avx2(nn_qmodel *q, int allow);

#endif /* NN_QUANT_QUANT_H */
