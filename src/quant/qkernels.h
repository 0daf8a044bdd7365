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
/* ---- convolutions: (out, positions) = W (out, depth) x patches (depth,
 * positions). The patches are uint8 rows col (depth2, P16): positions
 * padded to a multiple of 16 (P16), depth to an even count (depth2), zeros
 * in the padding; the weights int32 pairs of consecutive k, w2[o][j] =
 * (uint16)w[o][2j] | w[o][2j+1] << 16 (0 past depth), so that one vpmaddwd
 * multiplies 8 positions of rows 2j and 2j+1 by a pair of weights. */

/* positions rounded up to a multiple of 16. */
static inline int nn_q_pos16(int positions)
{
    return (positions + 15) / 16 * 16;
}

/* The reference: acc[o, p] = bias[o] + sum_k w[o, k] * a[k, p]; a (depth,
 * positions) uint8, w (out, depth) int8, acc (out, positions). */
void nn_q_conv_gemm_ref(int out, int depth, int positions, const uint8_t *a,
                        const int8_t *w, const int32_t *bias, int32_t *acc);
/* The same on col (depth2, pos16) and w2, plain C: acc (out, pos16). */
void nn_q_conv_gemm_portable(int out, int depth2, int pos16,
                             const uint8_t *col, const int32_t *w2,
                             const int32_t *bias, int32_t *acc);
/* The same with AVX2 (4 outputs x 16 positions a tile: rows 2j and 2j+1
 * interleaved and widened to int16 pairs in registers); only when
 * nn_cpu_has_avx2(). Equal to the portable one bit for bit. */
void nn_q_conv_gemm_avx2(int out, int depth2, int pos16, const uint8_t *col,
                         const int32_t *w2, const int32_t *bias,
                         int32_t *acc);
typedef void (*nn_q_conv_gemm_fn)(int out, int depth2, int pos16,
                                  const uint8_t *col, const int32_t *w2,
                                  const int32_t *bias, int32_t *acc);
/* The conv gemm: the AVX2 one when the CPU has it and allow_avx2. */
nn_q_conv_gemm_fn nn_q_conv_gemm_pick(int allow_avx2);
/* w2 (out, depth2 / 2) int32 pairs of w (out, depth). */
void nn_q_pack_weight_pairs(int out, int depth, const int8_t *w, int32_t *w2);
/* col (depth4, pos16) of a (depth, positions), zeros in the padding. */
void nn_q_pack_cols(int depth, int positions, const uint8_t *a, uint8_t *col);
/* Bytes of the padded copy of the input nn_q_im2col works from:
 * c (h + 2 pad) (w + 2 pad) + 16. */
size_t nn_q_im2col_scratch(int c, int h, int w, int pad);
/* The patches of one sample x (c, h, w) into col (depth4, pos16), k = (ci,
 * ky, kx), the padding of the input holding zero (its zero point): x is
 * first copied into padded (nn_q_im2col_scratch bytes) with a border of
 * zero, then each row of col is copied 8 bytes at a time. col needs 16
 * bytes of slack after depth4 * pos16; the bytes past the positions of a
 * row are left as they come (the gemm's sums there are not used), the rows
 * from depth to depth4 are zeros. */
void nn_q_im2col(const uint8_t *x, int c, int h, int w, int kh, int kw,
                 int stride, int pad, int out_h, int out_w, uint8_t zero,
                 uint8_t *padded, uint8_t *col);
/* ---- the same convolution gemm with AVX-VNNI (vpdpbusd: four uint8 x
 * int8 products summed straight into an int32 lane, no intermediate
 * saturation, so exact): the patches' rows interleaved by fours, quads
 * (depth4 / 4, pos16, 4) with quads[j][p][t] = col[4j + t][p], the
 * weights as int32 quads w4[o][j] = bytes w[o][4j..4j+3] (0 past depth). */

/* depth rounded up to a multiple of 4. */
static inline int nn_q_depth4(int depth)
{
    return (depth + 3) / 4 * 4;
}

/* w4 (out, depth4 / 4) int32 quads of w (out, depth). */
void nn_q_pack_weight_quads(int out, int depth, const int8_t *w, int32_t *w4);
/* quads (depth4 / 4, pos16, 4) of col (depth4, pos16). */
void nn_q_interleave4(int depth4, int pos16, const uint8_t *col,
                      uint8_t *quads);
/* The patches of one sample straight into quads (as nn_q_im2col then
 * nn_q_interleave4 give them, at the positions below out_h * out_w; the
 * others are left as they come): for stride 1, four rows of the padded
 * copy interleaved 16 positions at a time with SSE2; otherwise through col
 * (depth4, pos16 bytes and 16 of slack). quads needs 64 bytes of slack. */
void nn_q_im2col_quads(const uint8_t *x, int c, int h, int w, int kh, int kw,
                       int stride, int pad, int out_h, int out_w,
                       uint8_t zero, uint8_t *padded, uint8_t *col,
                       uint8_t *quads);
/* acc (out, pos16) = bias + W x col from quads and w4, plain C. */
void nn_q_conv_gemm_quads_portable(int out, int depth4, int pos16,
                                   const uint8_t *quads, const int32_t *w4,
                                   const int32_t *bias, int32_t *acc);
/* The same with AVX-VNNI; only when nn_cpu_has_avxvnni(). */
void nn_q_conv_gemm_quads_vnni(int out, int depth4, int pos16,
                               const uint8_t *quads, const int32_t *w4,
                               const int32_t *bias, int32_t *acc);
/* 1 when the CPU runs AVX2 and AVX-VNNI. */
int nn_cpu_has_avxvnni(void);

/* y[p] = clamp(zero + requant(acc[p], m), lo, hi), p < n (one channel). */
void nn_q_requant_plane(const int32_t *acc, int n, nn_qmul m, int32_t zero,
                        int32_t lo, int32_t hi, uint8_t *y);
/* The same with AVX2, bit for bit (srdhm as floor((a b + 2^30) / 2^31),
 * which is the formula of qmodel.h); only when nn_cpu_has_avx2(). */
void nn_q_requant_plane_avx2(const int32_t *acc, int n, nn_qmul m,
                             int32_t zero, int32_t lo, int32_t hi,
                             uint8_t *y);
typedef void (*nn_q_requant_plane_fn)(const int32_t *acc, int n, nn_qmul m,
                                      int32_t zero, int32_t lo, int32_t hi,
                                      uint8_t *y);
nn_q_requant_plane_fn nn_q_requant_plane_pick(int allow_avx2);

/* q[i] = clamp(zero + roundf(x[i] / scale), 0, 255), NaN to zero. */
void nn_q_quantize(const float *x, size_t n, float scale, int32_t zero,
                   uint8_t *q);
/* The same with AVX2, bit for bit (roundf's ties away from zero from a
 * truncation and the fraction); only when nn_cpu_has_avx2(). */
void nn_q_quantize_avx2(const float *x, size_t n, float scale, int32_t zero,
                        uint8_t *q);
typedef void (*nn_q_quantize_fn)(const float *x, size_t n, float scale,
                                 int32_t zero, uint8_t *q);
nn_q_quantize_fn nn_q_quantize_pick(int allow_avx2);
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
