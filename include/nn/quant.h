/* libnn's int8 inference (part of nn.h): post-training quantization of a
 * trained net to an int8 model (int8 weights, uint8 activations, int32
 * sums), int8 model files, and predicting with them. An int8 model can be
 * run, not trained. Arithmetic and calibration: docs/FORMAT.md. */
#ifndef NN_QUANT_H
#define NN_QUANT_H

#include <stddef.h>

#include "nn/core.h"
#include "nn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An int8 model: integer ops over uint8 tensors, with its own buffers. */
typedef struct nn_qmodel nn_qmodel;

/* How activation ranges are chosen from the calibration images. */
typedef enum {
    NN_QCALIB_MINMAX = 0 /* the smallest and largest value seen */
} nn_qcalib;

/* Options of nn_quantize. */
typedef struct {
    nn_qcalib calibration; /* default NN_QCALIB_MINMAX */
    int batch;             /* calibration batch (default 64) */
    int max_batch;         /* the model's largest predict batch (default 64) */
} nn_quant_options;

/* The default options. */
nn_quant_options nn_quant_defaults(void);

/* Quantizes a net to an int8 model, calibrating activation scales on n
 * images (n, c, h, w) normalised as the net was trained on (the training
 * data); opt NULL: the defaults. The net is read, not changed. */
nn_status nn_quantize(const nn_net *net, const float *images, int n,
                      const nn_quant_options *opt, nn_qmodel **out,
                      char *msg, size_t msg_size);
/* Saves an int8 model file (docs/FORMAT.md). */
nn_status nn_qmodel_save(const nn_qmodel *q, const char *path, char *msg,
                         size_t msg_size);
/* Loads an int8 model file for batches of up to max_batch; a corrupt,
 * truncated or inconsistent file is refused and msg says why. */
nn_status nn_qmodel_load(const char *path, int max_batch, nn_qmodel **out,
                         char *msg, size_t msg_size);
/* 1 when path is an int8 model file, 0 when not (or unreadable). */
int nn_model_file_is_int8(const char *path);
/* Frees the model (NULL is allowed). */
void nn_qmodel_free(nn_qmodel *q);

/* Runs n images (n <= max batch, shape (n, c, h, w)) and writes the
 * logits, (n, classes), dequantized to float. No allocation. */
nn_status nn_qmodel_logits(nn_qmodel *q, const float *images, int n,
                           float *logits);
/* The same, then softmax in float: probabilities (n, classes). */
nn_status nn_qmodel_predict(nn_qmodel *q, const float *images, int n,
                            float *probs);
/* Threads predict uses (1..64, default 1; results do not depend on it);
 * a load or a new quantization starts again at 1. */
nn_status nn_qmodel_set_threads(nn_qmodel *q, int threads);
/* Threads predict uses. */
int nn_qmodel_threads(const nn_qmodel *q);
/* Number of outputs (classes). */
int nn_qmodel_classes(const nn_qmodel *q);
/* Largest batch of nn_qmodel_predict. */
int nn_qmodel_max_batch(const nn_qmodel *q);
/* Shape (c, h, w) of one input sample. */
void nn_qmodel_input_shape(const nn_qmodel *q, int *c, int *h, int *w);
/* The input normalisation the fp32 net was trained with. */
void nn_qmodel_normalization(const nn_qmodel *q, float mean[3],
                             float std[3]);

/* ---------------------------------------------------------------------
 * An int8 model as C source or as ONNX: nn_convert's outputs for int8
 * model files (docs/COMPILE_C.md, docs/FORMAT.md). */

/* What an int8 model compiled to C needs. */
typedef struct {
    size_t const_bytes; /* the const arrays: weights, biases, multipliers,
                           tables */
    size_t work_bytes;  /* the caller's working memory (PREFIX_WORK_BYTES) */
    size_t in_floats;   /* one input sample (floats, the caller's) */
    size_t classes;     /* outputs (floats, the caller's) */
} nn_qmodel_c_sizes;

/* Writes q as one C11 source file path (NAME.c) and NAME.h beside it,
 * symbols prefixed with NAME: NAME_logits and NAME_predict give
 * nn_qmodel_logits's and nn_qmodel_predict's floats bit for bit, with no
 * libnn, allocation or stdio; source names the model in comments (NULL
 * allowed); sizes (NULL allowed) gets what the code needs. */
nn_status nn_qmodel_c_save(const nn_qmodel *q, const char *path,
                           const char *source, nn_qmodel_c_sizes *sizes,
                           char *msg, size_t msg_size);
/* Writes q as ONNX (opset 13, QuantizeLinear / QLinearConv / QDQ ops on
 * uint8 and int8 tensors, float in and out); flags: NN_ONNX_SOFTMAX ends
 * it with a Softmax. */
nn_status nn_qmodel_onnx_save(const nn_qmodel *q, const char *path,
                              unsigned flags, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* NN_QUANT_H */
