/* The buffers an int8 model runs in (src/quant: qmodel.c makes them,
 * qrun.c uses them). One allocation, carved into named pointers. */
#ifndef NN_QUANT_QRUN_H
#define NN_QUANT_QRUN_H

#include <stdint.h>

#include "quant/qkernels.h"
#include "quant/qmodel.h"

struct nn_qrun {
    int max_batch;
    void *arena;         /* everything below points into it */
    uint8_t **values;    /* (tensor_count) each (max_batch, c, h, w) uint8;
                            NULL for an int32 output */
    int16_t **w16;       /* (op_count) packed weights (out_c, depth16) of
                            CONV and DENSE ops, else NULL */
    int32_t *logits_acc; /* (max_batch, classes) int32 output, or NULL */
    float *logits;       /* (max_batch, classes) */
    int16_t *col;        /* rows of the largest gemm (rows, depth16) */
    int32_t *acc;        /* (rows, out) of the largest gemm */
    int allow_avx2;      /* 0: portable kernels only */
    nn_q_gemm_fn gemm;   /* the gemm the kernels use */
};

#endif /* NN_QUANT_QRUN_H */
