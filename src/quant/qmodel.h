/* The internal structure of an int8 (quantized) model: a list of integer ops
 * in run order over numbered uint8 tensors. The engine (src/quant), the
 * model file (docs/FORMAT.md), the ONNX QDQ exporter and the int8 C emitter
 * read only this struct and the integer formulas written here, so the same
 * integers come out everywhere.
 *
 * This layout only grows: fields are added, never renamed or removed.
 *
 * ------------------------------------------------------------- tensors
 * Tensor 0 is the net's input; op i writes tensor i + 1. Every tensor is
 * uint8, asymmetric, per tensor:   real = scale * (q - zero_point),
 * scale finite and > 0, zero_point in [0, 255], shape (c, h, w) per sample,
 * stored NCHW. The one exception: the last op may have int32_out set (a
 * conv or dense whose output is the logits), then its tensor holds int32
 * accumulators and real[c] = acc_scale[c] * acc (see nn_qconv).
 *
 * Input quantization (float images already normalised as the fp32 net
 * took them, x = (v/255 - mean)/std):
 *     q = clamp(zero_point + roundf(x / scale), 0, 255)
 * with x / scale one IEEE single division and roundf rounding half away
 * from zero; NaN maps to zero_point. Output: logits dequantized to float
 * as above, softmax in float.
 *
 * ------------------------------------------------------ requantization
 * A real multiplier m > 0 is stored as (M, shift): m ~= M * 2^-31 * 2^-shift
 * with M in [2^30, 2^31 - 1] (Q31, value in [0.5, 1)) and shift in
 * [-31, 31] (a negative shift is a left shift). The integer function, the
 * one of gemmlowp / TensorFlow Lite (two roundings: srdhm's, then
 * rdivpot's; the result is within 1 of round(x m), not always equal):
 *
 *   requant(x, M, shift):
 *     if shift < 0: x = saturate_int32((int64)x * 2^-shift)
 *     x = srdhm(x, M)
 *     if shift > 0: x = rdivpot(x, shift)
 *     return x
 *   srdhm(a, b)  (saturating rounding doubling high multiply; a b / 2^31
 *                 to nearest, ties towards +infinity):
 *     if a == b == INT32_MIN: return INT32_MAX
 *     p = (int64)a * b
 *     nudge = p >= 0 ? 2^30 : 1 - 2^30
 *     return (int32)((p + nudge) / 2^31)   (C division, toward zero)
 *   rdivpot(x, e)  (rounding divide by 2^e, ties away from zero):
 *     mask = 2^e - 1;  rem = x & mask;  thr = (mask >> 1) + (x < 0)
 *     return (x >> e) + (rem > thr)      (>> arithmetic)
 *
 * nn_qmul_from_real (qmath.h) turns m into (M, shift): frexp gives
 * m = f * 2^e with f in [0.5, 1); M = round(f * 2^31) (if that is 2^31:
 * M = 2^30, e + 1); shift = -e; shift > 31 becomes M = 2^30, shift = 31
 * (m = 2^-32: the result is 0 or +-1 for any int32 x); shift < -31 is
 * refused.
 *
 * --------------------------------------------------------------- ops
 * NN_QOP_CONV (conv2d) and NN_QOP_DENSE (dense; kh = kw = 1, in_c =
 * c*h*w of its input, the input read flat): weights int8 symmetric per
 * output channel, w_real[o] = w_scale[o] * w, w in [-127, 127] (see
 * NN_QWEIGHT_MAX), zero point 0. A batchnorm that was the only reader of
 * the conv/dense output is folded into w and bias before quantizing, and a
 * relu that was the only reader of the result is folded as lo = zero point
 * of the output. With x the uint8 input (zero point z_in), padded positions
 * holding z_in (the real 0):
 *     acc[o, p] = bias_folded[o] + sum_k x_pad[k, p] * weight[o, k]   (int32)
 *     bias_folded[o] = bias[o] - z_in * sum_k weight[o, k]
 *     bias[o] = round_half_away(b_real[o] / (s_in * w_scale[o])), saturated
 *               to [-(2^31 - 1), 2^31 - 1]       (ONNX QLinearConv's B)
 *     y[o, p] = clamp(z_out + requant(acc, mult[o], shift[o]), lo, hi)
 *     mult/shift[o] from m = s_in * w_scale[o] / s_out
 * (k runs over (in_c, kh, kw) in that order.) The quantizer and the loader
 * refuse nets whose |bias_folded| + 255 * 127 * K could pass 2^31 - 1, so
 * no int32 sum overflows in any order. With int32_out (last op only) the
 * output is acc itself, real = acc_scale[o] * acc, acc_scale[o] = s_in *
 * w_scale[o]; lo, hi, mult and shift are then unused (0).
 *
 * NN_QOP_AFFINE (a batchnorm that could not be folded): per channel c of
 * its (c, h, w) input, one int8 weight and the same formula as a 1x1
 * depthwise conv:  acc = bias_folded[c] + x * weight[c];  y = clamp(z_out +
 * requant(acc, mult[c], shift[c]), lo, hi); weight[c] = +-127 or 0, w_scale[c]
 * = |gamma[c] / sqrt(var[c] + eps)| / 127 (1 when that is 0), bias[c] =
 * round_half_away((beta - mean * gamma / sqrt(var + eps)) / (s_in * w_scale)).
 *
 * NN_QOP_MAXPOOL: y = max of x over the window clipped to the input (the
 * padding never wins), uint8 directly; the output tensor has the input's
 * scale and zero point (checked by the loader).
 *
 * NN_QOP_AVGPOOL (avgpool and global_avgpool, the latter as a window of the
 * whole plane, stride 1, pad 0): the output tensor has the input's scale
 * and zero point; with n the divisor (the window clipped to the padded
 * input, or to the input when exclude_pad, as the fp32 layer),
 *     s = sum over the window inside the input of (x - z)         (int32)
 *     y = clamp(z + div_round(s, n), 0, 255)
 *     div_round(s, n) = (s >= 0 ? s + n/2 : s - n/2) / n
 *     (C division toward zero: the quotient rounded half away from zero)
 * A global average pooling with pool.requant set has its own output scale
 * and zero point instead (a mean has a narrower range than its inputs):
 *     y = clamp(z_out + requant(s, pool.mul), 0, 255),
 *     pool.mul from m = s_in / (n * s_out), n = h * w.
 *
 * NN_QOP_ADD: inputs (s_i, z_i), output (s_out, z_out), s_max the largest
 * input scale, L = NN_QADD_LEFT_SHIFT (20); per input
 *     t_i = requant((x_i - z_i) * 2^L, in_mult[i], in_shift[i]),
 *           m_i = s_i / (2 s_max)
 *     y = clamp(z_out + requant(sum_i t_i, out_mult, out_shift), lo, hi),
 *           m_out = 2 s_max / (2^L s_out)
 * (lo = z_out when a following relu was folded.)
 *
 * NN_QOP_CONCAT: along channels; input i's channels go after those of
 * inputs 0..i-1; each value y = clamp(z_out + requant(x_i - z_i,
 * in_mult[i], in_shift[i]), 0, 255), m_i = s_i / s_out; when in_same[i] is
 * 1 (scale and zero point equal to the output's) the bytes are copied.
 *
 * NN_QOP_LUT (relu, leaky relu, sigmoid, tanh that were not folded):
 *     y = lut[x]
 * lut[q] = clamp(z_out + roundf(f(s_in (q - z_in)) / s_out), 0, 255),
 * computed once by the quantizer in double (then stored, so every reader
 * uses the stored table, never recomputes it).
 *
 * Dropout is the identity and has no op: its readers read its input.
 */
#ifndef NN_QUANT_QMODEL_H
#define NN_QUANT_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn/net.h"
#include "nn/quant.h"

/* The largest |weight|: symmetric int8 weights lie in [-127, 127]. */
#define NN_QWEIGHT_MAX 127
/* The fixed left shift of the inputs of NN_QOP_ADD. */
#define NN_QADD_LEFT_SHIFT 20
/* Most ops and tensors one int8 model holds. */
#define NN_QMAX_OPS 4096

/* Kinds of integer op. The values are stored in model files. */
typedef enum {
    NN_QOP_CONV = 1,    /* conv2d (+ folded batchnorm, relu) */
    NN_QOP_DENSE = 2,   /* dense (+ folded batchnorm, relu) */
    NN_QOP_AFFINE = 3,  /* batchnorm that could not be folded */
    NN_QOP_MAXPOOL = 4, /* max pooling on uint8 */
    NN_QOP_AVGPOOL = 5, /* average pooling, global average pooling */
    NN_QOP_ADD = 6,     /* element-wise sum of 2..NN_MAX_INPUTS tensors */
    NN_QOP_CONCAT = 7,  /* concatenation along channels */
    NN_QOP_LUT = 8      /* unary op by a 256-entry table */
} nn_qop_kind;

/* Quantization parameters and shape of one tensor:
 * real = scale * (q - zero_point). */
typedef struct {
    float scale;        /* > 0, finite */
    int32_t zero_point; /* in [0, 255] */
    int c, h, w;        /* shape of one sample */
} nn_qtensor;

/* A real multiplier as an integer: m ~= mult * 2^-31 * 2^-shift. */
typedef struct {
    int32_t mult;  /* in [2^30, 2^31 - 1] */
    int32_t shift; /* in [-31, 31]; < 0 shifts left */
} nn_qmul;

/* Weights and requantization of NN_QOP_CONV, NN_QOP_DENSE, NN_QOP_AFFINE
 * (formulas above). Arrays are owned by the model. */
typedef struct {
    int out_c;            /* output channels (AFFINE: the channels) */
    int in_c;             /* input channels (DENSE: c*h*w; AFFINE: 1) */
    int kh, kw;           /* kernel (DENSE, AFFINE: 1 x 1) */
    int stride, pad;      /* both directions (DENSE, AFFINE: 1, 0) */
    int8_t *weight;       /* (out_c, in_c, kh, kw), in [-127, 127] */
    float *w_scale;       /* (out_c) per-channel weight scale, > 0 */
    int32_t *bias;        /* (out_c) at scale s_in * w_scale[o], zero point
                             NOT folded (ONNX's int32 bias) */
    int32_t *bias_folded; /* (out_c) bias[o] - z_in * sum_k weight[o, k]:
                             what the kernels add; derived on load */
    nn_qmul *requant;     /* (out_c) m = s_in * w_scale[o] / s_out */
    int32_t lo, hi;       /* output clamp, 0 <= lo <= hi <= 255 */
    int relu;             /* 1 when a relu was folded (lo = z_out) */
    int bn_folded;        /* 1 when a batchnorm was folded into it */
    int int32_out;        /* 1: output the int32 acc (last op only) */
    float *acc_scale;     /* (out_c) s_in * w_scale[o] when int32_out,
                             else NULL */
} nn_qconv;

/* Geometry of NN_QOP_MAXPOOL and NN_QOP_AVGPOOL, as the fp32 layer's. */
typedef struct {
    int kh, kw;      /* window */
    int stride, pad; /* both directions */
    int ceil_mode;   /* 1: output size rounded up (PyTorch ceil_mode) */
    int exclude_pad; /* AVGPOOL: 1 leaves the padding out of the divisor */
    int global;      /* 1: global average pooling (window = whole plane) */
    int requant;     /* global: 1 when the output has its own scale */
    nn_qmul mul;     /* requant: m = s_in / (h * w * s_out) */
} nn_qpool;

/* Requantization of the inputs of NN_QOP_ADD and NN_QOP_CONCAT. */
typedef struct {
    nn_qmul in[NN_MAX_INPUTS]; /* per input (formulas above) */
    nn_qmul out;               /* ADD: the sum to the output scale */
    int in_same[NN_MAX_INPUTS]; /* CONCAT: 1 when input i already has the
                                   output's scale and zero point */
    int32_t lo, hi;            /* ADD: output clamp (lo = z_out: relu) */
    int relu;                  /* ADD: 1 when a relu was folded */
} nn_qjoin;

/* One integer op. */
typedef struct {
    nn_qop_kind kind;
    int inputs;               /* tensors it reads: 1, ADD/CONCAT 2.. */
    int from[NN_MAX_INPUTS];  /* their indices (0: the net's input,
                                 i + 1: op i's output), all < this op's */
    int layer;                /* index of the fp32 layer it comes from */
    char fp32_kind[16];       /* that layer's kind ("conv2d", "relu") */
    nn_qconv conv;            /* CONV, DENSE, AFFINE */
    nn_qpool pool;            /* MAXPOOL, AVGPOOL */
    nn_qjoin join;            /* ADD, CONCAT */
    uint8_t lut[256];         /* LUT: y = lut[x] */
} nn_qop;

/* An int8 model: ops in run order, the tensors they write, the input's
 * normalisation, and (once prepared) the buffers to run batches. */
struct nn_qmodel {
    int in_c, in_h, in_w;     /* input shape of one sample */
    float norm_mean[3];       /* the fp32 net's input normalisation */
    float norm_std[3];
    int classes;              /* outputs of the last tensor (c*h*w) */
    int op_count;
    nn_qop *ops;              /* (op_count) in run order */
    int tensor_count;         /* op_count + 1 */
    nn_qtensor *tensors;      /* (tensor_count); [0] the input */
    char spec[1024];          /* the fp32 net's spec (information) */
    char calibration[64];     /* how scales were chosen ("minmax 1000") */
    /* Run-time state (not in files): the buffers of nn_qmodel_load's or
     * nn_quantize's max_batch; private to src/quant (qrun.h). */
    struct nn_qrun *run;
};

#endif /* NN_QUANT_QMODEL_H */
