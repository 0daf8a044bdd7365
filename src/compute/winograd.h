/* 3x3 stride-1 convolutions by Winograd F(2x2, 3x3)
 * (src/compute/conv_winograd.c) and F(4x4, 3x3)
 * (src/compute/conv_winograd43.c), forward and backward. Each call handles
 * n <= nn_winograd_group(s) (nn_winograd43_group(s)) images; u holds the
 * transformed weights, (16, out_c, in_c) (and (36, out_c, in_c)). */
#ifndef NN_KERNELS_WINOGRAD_H
#define NN_KERNELS_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "nn/advanced.h"
#include "core/util.h"

/* The Winograd transforms are additions and subtractions (and, for the
 * weights, products no contraction merges in ISO C): marked
 * NN_TARGET_CLONES (core/util.h), they give the same bits with wider
 * vectors. */

/* 1 when the shape suits Winograd: 3x3, stride 1, 8 or more channels. */
int nn_winograd_fits(const nn_conv2d_shape *s);
/* Images per call: enough tiles to give the gemms wide matrices. */
int nn_winograd_group(const nn_conv2d_shape *s);
/* Multiply-adds of one image's 16 gemms (one pass): out_c * in_c per
 * point of the 4x4 domain and 2x2 tile. */
uint64_t nn_winograd_macs(const nn_conv2d_shape *s);
/* Floats of u (and of the weight-gradient sum du). */
size_t nn_winograd_weights_size(const nn_conv2d_shape *s);
/* Floats of scratch for a call on a full group, du included. */
size_t nn_winograd_scratch(const nn_conv2d_shape *s);
/* u = G w G^T for channel pairs [first, last) of out_c * in_c; w as the
 * layer's (out_c, in_c, 3, 3). */
void nn_winograd_weights(const nn_conv2d_shape *s, const float *w, float *u,
                         size_t first, size_t last);
/* dw += G^T du G: turns a weight-gradient sum into the weights' gradient. */
void nn_winograd_weight_grads(const nn_conv2d_shape *s, const float *du,
                              float *dw);
/* y (n, out_c, out_h, out_w) = conv(x) + bias. */
void nn_winograd_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                         const float *u, const float *x, const float *bias,
                         float *y, float *scratch, int n);
/* du (16, out_c, in_c) += the Winograd-domain weight gradient, dbias += the
 * sums of dy, dx += the input gradient when dx is not NULL. */
void nn_winograd_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                          const float *u, const float *x, const float *dy,
                          float *dx, float *du, float *dbias, float *scratch,
                          int n);

/* F(4x4, 3x3): 6x6 input tiles, 4x4 output tiles, 36 gemms; fits the
 * shapes nn_winograd_fits accepts. */

/* Images per call: enough tiles to give the gemms wide matrices. */
int nn_winograd43_group(const nn_conv2d_shape *s);
/* Multiply-adds of one image's 36 gemms: out_c * in_c per point of the
 * 6x6 domain and 4x4 tile. */
uint64_t nn_winograd43_macs(const nn_conv2d_shape *s);
/* Floats of u (and of the weight-gradient sum du). */
size_t nn_winograd43_weights_size(const nn_conv2d_shape *s);
/* Floats of scratch for a call on a full group, du included. */
size_t nn_winograd43_scratch(const nn_conv2d_shape *s);
/* u = G w G^T for channel pairs [first, last) of out_c * in_c; w as the
 * layer's (out_c, in_c, 3, 3). */
void nn_winograd43_weights(const nn_conv2d_shape *s, const float *w, float *u,
                           size_t first, size_t last);
/* dw += G^T du G: turns a weight-gradient sum into the weights' gradient. */
void nn_winograd43_weight_grads(const nn_conv2d_shape *s, const float *du,
                                float *dw);
/* y (n, out_c, out_h, out_w) = conv(x) + bias. */
void nn_winograd43_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                           const float *u, const float *x, const float *bias,
                           float *y, float *scratch, int n);
/* du (36, out_c, in_c) += the Winograd-domain weight gradient, dbias += the
 * sums of dy, dx += the input gradient when dx is not NULL. */
void nn_winograd43_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                            const float *u, const float *x, const float *dy,
                            float *dx, float *du, float *dbias, float *scratch,
                            int n);

/* Shared by both tile sizes, over the `points` positions xi of the
 * Winograd domain (16 or 36), cols tiles:
 * M[xi] (out_c, cols) = U[xi] (out_c, in_c) V[xi] (in_c, cols). */
void nn_winograd_gemms_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                               int points, const float *u, const float *v,
                               float *m, size_t cols);
/* dU[xi] += dM[xi] V[xi]^T, then (input_grad) V[xi] = U[xi]^T dM[xi]. */
void nn_winograd_gemms_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                                int points, const float *u, const float *dm,
                                float *v, float *du, int input_grad,
                                size_t cols);
/* Images per call for per_image tiles an image: enough for cols columns
 * in the gemms, at most `most`. */
int nn_winograd_group_for(size_t per_image, size_t cols, int most);
/* Floats of scratch for a call on `group` images: V and M (or dM) of
 * `points` positions, the weight-gradient sum dU, `buffers` floats of
 * per-plane buffers. */
size_t nn_winograd_scratch_for(const nn_conv2d_shape *s, int points,
                               int group, size_t per_image, size_t buffers);

/* One tile size's transforms, each over one image of a group, its
 * tiles at columns [first, first + tiles) of V and M (cols in all); buf
 * is the file's per-plane buffers. */
typedef struct {
    int points; /* positions of the Winograd domain: 16 or 36 */
    size_t (*tiles)(const nn_conv2d_shape *s); /* tiles per image */
    /* V = B^T d B of image x */
    void (*input)(const nn_conv2d_shape *s, const float *x, float *v,
                  size_t cols, size_t first, float *buf);
    /* y = A^T M A + bias */
    void (*output)(const nn_conv2d_shape *s, const float *m,
                   const float *bias, float *y, size_t cols, size_t first,
                   float *buf);
    /* dM = A dY A^T, the adjoint of output */
    void (*output_adjoint)(const nn_conv2d_shape *s, const float *dy,
                           float *dm, size_t cols, size_t first, float *buf);
    /* dx += B dV B^T, the adjoint of input */
    void (*input_adjoint)(const nn_conv2d_shape *s, const float *dv,
                          float *dx, size_t cols, size_t first, float *buf);
} nn_winograd_steps;

/* The forward and backward passes of either tile size, as
 * nn_winograd_forward and nn_winograd_backward describe them: transforms
 * image by image, then the gemms over the group, then the transforms
 * back. scratch: V, then M (or dM), then the per-plane buffers. */
void nn_winograd_run_forward(const nn_winograd_steps *k,
                             const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                             const float *u, const float *x, const float *bias,
                             float *y, float *scratch, int n);
void nn_winograd_run_backward(const nn_winograd_steps *k,
                              const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                              const float *u, const float *x, const float *dy,
                              float *dx, float *du, float *dbias,
                              float *scratch, int n);

/* dbias[c] += the sum of plane c of one image's dy (out_c, out_h, out_w). */
void nn_winograd_bias_grads(const nn_conv2d_shape *s, const float *dy,
                            float *dbias);

#endif /* NN_KERNELS_WINOGRAD_H */
