/* Direct AVX2+FMA convolutions for stride 1 and few channels
 * (src/compute/conv_direct_avx2.c): call them only when nn_cpu_has_avx2().
 * They run AVX-512 tiles where nn_cpu_has_avx512(), with the same bits.
 * Same meaning as nn_conv2d_forward and nn_conv2d_backward; each call is a
 * pure function of its arguments, so results do not depend on how the
 * images are cut into calls' groups or spread over threads. */
#ifndef NN_KERNELS_CONV_DIRECT_H
#define NN_KERNELS_CONV_DIRECT_H

#include <stddef.h>

#include "nn.h"

/* 1 when the direct kernels take this shape: stride 1, pad < kernel, at
 * most 24 input and 64 output channels, in_c*kh*kw >= 16 (0 off x86-64). */
int nn_conv_direct_fits(const nn_conv2d_shape *s);
/* Floats of scratch one thread needs for a call (any n). */
size_t nn_conv_direct_scratch(const nn_conv2d_shape *s);
/* y (n, out_c, out_h, out_w) = conv(x) + b. */
void nn_conv_direct_forward(const nn_conv2d_shape *s, const float *x,
                            const float *w, const float *b, float *y,
                            float *scratch, int n);
/* dw += dy (*) x, db += sum dy, dx += W^T (*) dy when dx is not NULL. */
void nn_conv_direct_backward(const nn_conv2d_shape *s, const float *x,
                             const float *w, const float *dy, float *dx,
                             float *dw, float *db, float *scratch, int n);

/* The same two with the vector width chosen by the caller (for tests):
 * avx512 1 runs the AVX-512 tiles (only when nn_cpu_has_avx512()), 0 only
 * the AVX2 ones. Both give the same bits. */
void nn_conv_direct_forward_with(const nn_conv2d_shape *s, const float *x,
                                 const float *w, const float *b, float *y,
                                 float *scratch, int n, int avx512);
void nn_conv_direct_backward_with(const nn_conv2d_shape *s, const float *x,
                                  const float *w, const float *dy, float *dx,
                                  float *dw, float *db, float *scratch, int n,
                                  int avx512);

#endif /* NN_KERNELS_CONV_DIRECT_H */
