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
                            DENSE ops, else NULL */
    int32_t **w2;        /* (op_count) weight pairs (out_c, depth2 / 2) of
                            CONV ops, else NULL */
    int32_t **w4;        /* (op_count) weight quads (out_c, depth4 / 4) of
                            CONV ops, else NULL */
    int32_t *logits_acc; /* (max_batch, classes) int32 output, or NULL */
    float *logits;       /* (max_batch, classes) */
    int16_t *col;        /* rows of the largest dense gemm (rows, depth16) */
    uint8_t *patches;    /* patches of the largest conv (depth2, P16), and
                            16 bytes of slack */
    uint8_t *padded;     /* the largest conv input with its padding
                            (nn_q_im2col_scratch) */
    uint8_t *quads;      /* the patches interleaved by fours (AVX-VNNI) */
    int use_vnni;        /* 1: convs run nn_q_conv_gemm_quads_vnni */
    int32_t *acc;        /* (rows, out) or (out, P16) of the largest gemm */
    int allow_avx2;      /* 0: portable kernels only */
    nn_q_gemm_fn gemm;   /* the dense gemm */
    nn_q_conv_gemm_fn conv_gemm;            /* the conv gemm */
    nn_q_requant_plane_fn requant_plane;    /* a conv's requantization */
    nn_q_quantize_fn quantize;              /* the input's quantization */
};

#endif /* NN_QUANT_QRUN_H */
