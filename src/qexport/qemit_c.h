/* An int8 model compiled to C (nn_qmodel_c_save, src/qexport/qemit_c.c):
 * the text of the integer kernels the generated file calls
 * (qemit_c_kernels.c), each the formula of qmodel.h written out, and the
 * plan of its working memory (bytes: uint8 tensors by lifetime). */
#ifndef NN_QEXPORT_QEMIT_C_H
#define NN_QEXPORT_QEMIT_C_H

#include <stddef.h>

#include "qexport/emit_plan.h"
#include "quant/qmodel.h"

/* The kernels, in the order they are written out (later ones call
 * earlier ones). */
typedef enum {
    QC_CLAMP,           /* clamp32 */
    QC_REQUANT,         /* srdhm, rdivpot, requant */
    QC_DIV_ROUND,       /* div_round */
    QC_QUANTIZE,        /* the float input to uint8 */
    QC_CONV_ACC,        /* conv_acc: one output's int32 sum */
    QC_CONV,            /* conv_q */
    QC_CONV_LOGITS,     /* conv_logits: int32 sums dequantized */
    QC_DENSE_ACC,       /* dense_acc */
    QC_DENSE,           /* dense_q */
    QC_DENSE_LOGITS,    /* dense_logits */
    QC_AFFINE,          /* affine_q */
    QC_POOL_SPAN,       /* pool_span */
    QC_MAXPOOL,         /* maxpool_q */
    QC_AVGPOOL,         /* avgpool_q */
    QC_GLOBAL_AVGPOOL,  /* global_avgpool_q */
    QC_GLOBAL_AVGPOOL_RQ, /* global_avgpool_rq (own output scale) */
    QC_ADD,             /* add_term */
    QC_RESCALE,         /* rescale_q (concat) */
    QC_COPY,            /* copy_q (concat) */
    QC_LUT,             /* lut_q */
    QC_DEQUANTIZE,      /* dequantize: uint8 logits to float */
    QC_COUNT
} qc_kernel;

/* The definition of kernel k (static functions), with its comment. */
const char *nn_qc_kernel_text(qc_kernel k);
/* The kernels k needs written before it (a bit set of qc_kernel). */
unsigned nn_qc_kernel_needs(qc_kernel k);

/* Where tensor t of the model lives in the working memory, in bytes: size
 * of one sample, 0 for an int32 output (written to the caller's logits
 * directly); owner: the tensor whose bytes it uses (itself, or an input an
 * element-wise op writes over); last_read: the last step reading the
 * owner's bytes (step 0 quantizes the input, op i is step i + 1, step
 * op_count + 1 dequantizes the output). */
typedef nn_emit_slot qc_slot;

/* Plans the working memory: slots (tensor_count, malloc'd) and the bytes
 * it needs. NN_ENOMEM when slots cannot be made (then NULL). */
nn_status nn_qc_plan(const nn_qmodel *q, qc_slot **slots, size_t *work_bytes);

#endif /* NN_QEXPORT_QEMIT_C_H */
