/* The integer kernels of int8 models: pure functions over raw arrays (the
 * formulas are those of src/quant/qmodel.h). The AVX2 gemm is equal bit for
 * bit to the portable one (integer sums that cannot overflow, see
 * nn_q_gemm_s16_avx2); tests/test_quant_kernels.c checks it. */
#ifndef NN_QUANT_QKERNELS_H
#define NN_QUANT_QKERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "nn/layers.h"
#include "quant/qmodel.h"

/* depth rounded up to a multiple of 16 (the int16 rows of the gemm). */
static inline int nn_q_depth16(int depth)
{
    return (depth + 15) / 16 * 16;
}

/* The reference: acc[r, o] = bias[o] + sum_{k < depth} a[r, k] * w[o, k];
 * a (rows, depth) uint8, w (out, depth) int8, acc (rows, out) int32. */
void nn_q_gemm_u8s8_ref(int rows, int out, int depth, const uint8_t *a,
                        const int8_t *w, const int32_t *bias, int32_t *acc);
/* The same on int16 copies: a (rows, depth16), w (out, depth16), zeros
 * past depth; plain C. */
void nn_q_gemm_s16_portable(int rows, int out, int depth16, const int16_t *a,
                            const int16_t *w, const int32_t *bias,
                            int32_t *acc);
/* The same with AVX2 (vpmaddwd: pairs of int16 products summed in int32,
 * exact as |u8 * s8| <= 32385); only when nn_cpu_has_avx2(). */
void nn_q_gemm_s16_avx2(int rows, int out, int depth16, const int16_t *a,
                        const int16_t *w, const int32_t *bias, int32_t *acc);
/* Which gemm: the AVX2 one when the CPU has it and allow_avx2. */
typedef void (*nn_q_gemm_fn)(int rows, int out, int depth16, const int16_t *a,
                             const int16_t *w, const int32_t *bias,
                             int32_t *acc);
nn_q_gemm_fn nn_q_gemm_pick(int allow_avx2);

/* w16 (out, depth16) = w (out, depth) widened, zeros past depth. */
void nn_q_pack_weights(int out, int depth, const int8_t *w, int16_t *w16);
/* a16 (rows, depth16) = a (rows, depth) widened, zeros past depth. */
void nn_q_widen_rows(int rows, int depth, const uint8_t *a, int16_t *a16);
/* Patches of one sample x (c, h, w) as rows: col[p, k] for output
 * position p = (oy, ox) and k = (ci, ky, kx), the padding holding zero
 * (the input's zero point), zeros past depth = c*kh*kw; col (out_h*out_w,
 * depth16) int16. */
void nn_q_im2col_s16(const uint8_t *x, int c, int h, int w, int kh, int kw,
                     int stride, int pad, int out_h, int out_w, uint8_t zero,
                     int16_t *col);

/* q[i] = clamp(zero + roundf(x[i] / scale), 0, 255), NaN to zero. */
void nn_q_quantize(const float *x, size_t n, float scale, int32_t zero,
                   uint8_t *q);
/* y[o, r] = clamp(zero + requant(acc[r, o], m[o]), lo, hi): acc (rows, out)
 * to y (out, rows) (a conv's positions to its channels' planes). */
void nn_q_requant_transpose(int rows, int out, const int32_t *acc,
                            const nn_qmul *m, int32_t zero, int32_t lo,
                            int32_t hi, uint8_t *y);
/* y[r, o] = clamp(zero + requant(acc[r, o], m[o]), lo, hi), both (rows,
 * out) (a dense layer's samples). */
void nn_q_requant_rows(int rows, int out, const int32_t *acc,
                       const nn_qmul *m, int32_t zero, int32_t lo, int32_t hi,
                       uint8_t *y);
/* Unfoldable batchnorm, planes of hw values per channel of one sample:
 * y = clamp(zero + requant(bias[c] + x w[c], m[c]), lo, hi). */
void nn_q_affine(const uint8_t *x, int channels, size_t hw, const int8_t *w,
                 const int32_t *bias_folded, const nn_qmul *m, int32_t zero,
                 int32_t lo, int32_t hi, uint8_t *y);
/* Max pooling of `planes` planes (window clipped to the input). */
void nn_q_maxpool(const nn_pool2d_shape *s, const uint8_t *x, uint8_t *y,
                  int planes);
/* Average pooling: y = clamp(z + div_round(sum (x - z), divisor), 0, 255). */
void nn_q_avgpool(const nn_pool2d_shape *s, const uint8_t *x, int32_t zero,
                  uint8_t *y, int planes);
/* Global average pooling: one value per plane of hw values. */
void nn_q_global_avgpool(const uint8_t *x, int32_t zero, size_t hw,
                         uint8_t *y, int planes);
/* Global average pooling to another scale: y = clamp(zero_out +
 * requant(sum (x - zero_in), m), 0, 255). */
void nn_q_global_avgpool_requant(const uint8_t *x, int32_t zero_in, size_t hw,
                                 nn_qmul m, int32_t zero_out, uint8_t *y,
                                 int planes);
/* Element-wise sum of count tensors of n values (NN_QOP_ADD's formula). */
void nn_q_add(const uint8_t *const *x, int count, size_t n,
              const int32_t *zero_in, const nn_qjoin *j, int32_t zero_out,
              uint8_t *y);
/* y = clamp(zero_out + requant(x - zero_in, m), 0, 255) of n values; a
 * copy when same. */
void nn_q_rescale(const uint8_t *x, size_t n, int32_t zero_in, nn_qmul m,
                  int same, int32_t zero_out, uint8_t *y);
/* y[i] = lut[x[i]]. */
void nn_q_lut(const uint8_t *x, size_t n, const uint8_t lut[256], uint8_t *y);

#endif /* NN_QUANT_QKERNELS_H */
