/* 3x3 convolutions with stride 1 by Winograd's minimal filtering
 * F(4x4, 3x3), forward and backward (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2015; interpolation points 0, 1, -1,
 * 2, -2 and infinity).
 *
 * Outputs are cut into 4x4 tiles; the tile whose top-left output is
 * (4ty, 4tx) depends on the 6x6 input block d starting at
 * (4ty - pad, 4tx - pad), and for one output channel
 *
 *     Y = A^T [ sum over ci of (G g G^T) .* (B^T d B) ] A
 *
 * with g the 3x3 kernel from input channel ci and
 *
 *   B^T = | 4  0 -5  0  1  0 |   G = |  1/4    0     0   |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |
 *         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |
 *         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
 *         | 0  4  0 -5  0  1 |       |  0     0     1    |
 *
 *   A^T = | 1  1  1  1  1  0 |
 *         | 0  1 -1  2 -2  0 |
 *         | 0  1  1  4  4  0 |
 *         | 0  1 -1  8 -8  1 |
 *
 * A tile costs 36 multiplications per channel pair instead of 144 (F(2x2,
 * 3x3): 64 for the same four 2x2 tiles). As in conv_winograd.c, the sum
 * over input channels at each of the 36 positions xi is a gemm:
 *
 *     M[xi] (out_c, tiles) = U[xi] (out_c, in_c) V[xi] (in_c, tiles)
 *
 * Backward runs the adjoints of the same steps, as conv_winograd.c does:
 * dM = A dY A^T per tile, then
 *     dU[xi] += dM[xi] V[xi]^T   (weight gradient, dW = G^T dU G)
 *     dV[xi]  = U[xi]^T dM[xi]   (input gradient, dX += B dV B^T per tile)
 *
 * Layouts: U (36, out_c, in_c); V (36, in_c, cols) and M (36, out_c, cols),
 * cols counting the tiles of a group of images, image after image, each
 * image's tiles row after row. The larger coefficients cost accuracy:
 * test_winograd43 measures it against a float64 direct convolution. */
#include "compute/winograd.h"
#include "core/util.h"

/* The steps below are inlined into each clone, so they get its vectors. */
#if defined(__GNUC__)
#define WINOGRAD43_STEP static inline __attribute__((always_inline))
#else
#define WINOGRAD43_STEP static inline
#endif

/* Tiles are gathered until a gemm has about this many columns: fewer
 * than F(2x2)'s 128, as V and M hold 36 planes (64 measured faster on
 * 16x16 to 32x32 planes of 32 to 64 channels). */
#define WINOGRAD43_COLS 64
/* Most images in one group. */
#define WINOGRAD43_GROUP 16

/* Tiles per image: rows, columns, all. */
static int tile_rows(const nn_conv2d_shape *s) { return (s->out_h + 3) / 4; }
static int tile_cols(const nn_conv2d_shape *s) { return (s->out_w + 3) / 4; }
static size_t tiles(const nn_conv2d_shape *s)
{
    return (size_t)tile_rows(s) * tile_cols(s);
}

int nn_winograd43_group(const nn_conv2d_shape *s)
{
    return nn_winograd_group_for(tiles(s), WINOGRAD43_COLS, WINOGRAD43_GROUP);
}

uint64_t nn_winograd43_macs(const nn_conv2d_shape *s)
{
    return (uint64_t)36 * s->out_c * s->in_c * tiles(s);
}

size_t nn_winograd43_weights_size(const nn_conv2d_shape *s)
{
    return (size_t)36 * s->out_c * s->in_c;
}

/* Floats of the per-plane buffers: one row split by column residue
 * (4, tw + 1) and the horizontal transforms
 * (6, 4, th + 1, tw) for the input; (6 + 4) x 4 values per tile for the
 * output and its adjoint. */
static size_t buffer_size(const nn_conv2d_shape *s)
{
    size_t th = tile_rows(s), tw = tile_cols(s);
    size_t input = 4 * tw + 4 + 24 * (th + 1) * tw, output = 40 * th * tw;
    return input > output ? input : output;
}

size_t nn_winograd43_scratch(const nn_conv2d_shape *s)
{
    return nn_winograd_scratch_for(s, 36, nn_winograd43_group(s), tiles(s),
                                   buffer_size(s));
}

/* The weight transforms run over blocks of this many channel pairs, one
 * pair per lane of every array below, so they vectorise; each pair's
 * arithmetic is the one-pair formula's, in the same order. */
#define PAIR_BLOCK 16

/* o = G (a0, a1, a2) for every pair of a block, in double: the weights'
 * rounding is then once. */
WINOGRAD43_STEP void apply_g(const double *restrict a0,
                             const double *restrict a1,
                             const double *restrict a2,
                             double o[restrict 6][PAIR_BLOCK])
{
    for (int l = 0; l < PAIR_BLOCK; l++) {
        o[0][l] = a0[l] / 4.0;
        o[1][l] = -(a0[l] + a1[l] + a2[l]) / 6.0;
        o[2][l] = -(a0[l] - a1[l] + a2[l]) / 6.0;
        o[3][l] = a0[l] / 24.0 + a1[l] / 12.0 + a2[l] / 6.0;
        o[4][l] = a0[l] / 24.0 - a1[l] / 12.0 + a2[l] / 6.0;
        o[5][l] = a2[l];
    }
}

/* U = G g G^T for the (out, in) channel pairs [first, last) of
 * u (36, out_c, in_c). */
NN_TARGET_CLONES
void nn_winograd43_weights(const nn_conv2d_shape *s, const float *w, float *u,
                           size_t first, size_t last)
{
    size_t pairs = (size_t)s->out_c * s->in_c;
    for (size_t p = first; p < last; p += PAIR_BLOCK) {
        size_t n = last - p < PAIR_BLOCK ? last - p : PAIR_BLOCK;
        double g[9][PAIR_BLOCK]; /* pair p + l's (3, 3) kernel in lane l */
        double t[3][6][PAIR_BLOCK]; /* g G^T, transposed: t[k][j] */
        double col[6][PAIR_BLOCK];
        for (int k = 0; k < 9; k++)
            for (size_t l = 0; l < PAIR_BLOCK; l++)
                g[k][l] = l < n ? w[9 * (p + l) + k] : 0.0;
        for (int k = 0; k < 3; k++)
            apply_g(g[3 * k], g[3 * k + 1], g[3 * k + 2], t[k]);
        for (int j = 0; j < 6; j++) {
            apply_g(t[0][j], t[1][j], t[2][j], col);
            for (int i = 0; i < 6; i++) {
                float *ui = u + (size_t)(i * 6 + j) * pairs + p;
                for (size_t l = 0; l < n; l++)
                    ui[l] = (float)col[i][l];
            }
        }
    }
}

/* (o0, o1, o2) = G^T (a0 .. a5) for every pair of a block, in double:
 * the adjoint of apply_g. */
WINOGRAD43_STEP void apply_gt(double a[restrict 6][PAIR_BLOCK],
                              double *restrict o0, double *restrict o1,
                              double *restrict o2)
{
    for (int l = 0; l < PAIR_BLOCK; l++) {
        o0[l] = a[0][l] / 4.0 - (a[1][l] + a[2][l]) / 6.0 +
                (a[3][l] + a[4][l]) / 24.0;
        o1[l] = (a[2][l] - a[1][l]) / 6.0 + (a[3][l] - a[4][l]) / 12.0;
        o2[l] = (a[3][l] + a[4][l]) / 6.0 - (a[1][l] + a[2][l]) / 6.0 + a[5][l];
    }
}

/* dW += G^T dU G for every channel pair: the adjoint of
 * nn_winograd43_weights, in double, rounded once per weight. */
NN_TARGET_CLONES
void nn_winograd43_weight_grads(const nn_conv2d_shape *s, const float *du,
                                float *dw)
{
    size_t pairs = (size_t)s->out_c * s->in_c;
    for (size_t p = 0; p < pairs; p += PAIR_BLOCK) {
        size_t n = pairs - p < PAIR_BLOCK ? pairs - p : PAIR_BLOCK;
        double row[6][PAIR_BLOCK];
        double h[3][6][PAIR_BLOCK]; /* dU G, transposed: h[l][i] */
        double out[3][PAIR_BLOCK];
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 6; j++) {
                const float *duij = du + (size_t)(i * 6 + j) * pairs + p;
                for (size_t l = 0; l < PAIR_BLOCK; l++)
                    row[j][l] = l < n ? duij[l] : 0.0;
            }
            apply_gt(row, h[0][i], h[1][i], h[2][i]);
        }
        for (int c = 0; c < 3; c++) {
            apply_gt(h[c], out[0], out[1], out[2]);
            for (size_t l = 0; l < n; l++)
                for (int k = 0; k < 3; k++)
                    dw[9 * (p + l) + 3 * k + c] += (float)out[k][l];
        }
    }
}

/* (o0 .. o5) = B^T (i0 .. i5) on n columns at once. */
WINOGRAD43_STEP void step_bt(size_t n, const float *restrict i0, const float *restrict i1,
                    const float *restrict i2, const float *restrict i3,
                    const float *restrict i4, const float *restrict i5,
                    float *restrict o0, float *restrict o1, float *restrict o2,
                    float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (size_t t = 0; t < n; t++) {
        float d0 = i0[t], d1 = i1[t], d2 = i2[t], d3 = i3[t], d4 = i4[t],
              d5 = i5[t];
        o0[t] = 4.0f * d0 - 5.0f * d2 + d4;
        o1[t] = (d3 + d4) - 4.0f * (d1 + d2);
        o2[t] = (d4 - d3) + 4.0f * (d1 - d2);
        o3[t] = (d4 - d2) + 2.0f * (d3 - d1);
        o4[t] = (d4 - d2) - 2.0f * (d3 - d1);
        o5[t] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* (o0 .. o3) = A^T (i0 .. i5) on n columns at once. */
WINOGRAD43_STEP void step_at(size_t n, const float *restrict i0, const float *restrict i1,
                    const float *restrict i2, const float *restrict i3,
                    const float *restrict i4, const float *restrict i5,
                    float *restrict o0, float *restrict o1, float *restrict o2,
                    float *restrict o3)
{
    for (size_t t = 0; t < n; t++) {
        float sum12 = i1[t] + i2[t], dif12 = i1[t] - i2[t];
        float sum34 = i3[t] + i4[t], dif34 = i3[t] - i4[t];
        o0[t] = i0[t] + sum12 + sum34;
        o1[t] = dif12 + 2.0f * dif34;
        o2[t] = sum12 + 4.0f * sum34;
        o3[t] = dif12 + 8.0f * dif34 + i5[t];
    }
}

/* (o0 .. o3) = B (i0 .. i5), rows 0 to 3 of the adjoint, on n columns
 * at once; rows 4 and 5 (step_b_last) are the next tile's rows 0 and 1,
 * so they are added after those are set. */
WINOGRAD43_STEP void step_b_first(size_t n, const float *restrict i0,
                    const float *restrict i1, const float *restrict i2,
                    const float *restrict i3, const float *restrict i4,
                    const float *restrict i5, float *restrict o0,
                    float *restrict o1, float *restrict o2, float *restrict o3)
{
    for (size_t t = 0; t < n; t++) {
        float d0 = i0[t], d1 = i1[t], d2 = i2[t], d3 = i3[t], d4 = i4[t],
              d5 = i5[t];
        o0[t] = 4.0f * d0;
        o1[t] = 4.0f * (d2 - d1 + d5) + 2.0f * (d4 - d3);
        o2[t] = -5.0f * d0 - 4.0f * (d1 + d2) - (d3 + d4);
        o3[t] = (d1 - d2) + 2.0f * (d3 - d4) - 5.0f * d5;
    }
}

/* (o4, o5) += B (i0 .. i5), rows 4 and 5. */
WINOGRAD43_STEP void step_b_last(size_t n, const float *restrict i0,
                    const float *restrict i1, const float *restrict i2,
                    const float *restrict i3, const float *restrict i4,
                    const float *restrict i5, float *restrict o4,
                    float *restrict o5)
{
    for (size_t t = 0; t < n; t++) {
        o4[t] += i0[t] + (i1[t] + i2[t]) + (i3[t] + i4[t]);
        o5[t] += i5[t];
    }
}

/* (o0 .. o5) = A (i0 .. i3) on n columns at once: the adjoint of step_at. */
WINOGRAD43_STEP void step_a(size_t n, const float *restrict i0, const float *restrict i1,
                    const float *restrict i2, const float *restrict i3,
                    float *restrict o0, float *restrict o1, float *restrict o2,
                    float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (size_t t = 0; t < n; t++) {
        float even = i0[t] + i2[t], odd = i1[t] + i3[t];
        float even4 = i0[t] + 4.0f * i2[t], odd4 = 2.0f * (i1[t] + 4.0f * i3[t]);
        o0[t] = i0[t];
        o1[t] = even + odd;
        o2[t] = even - odd;
        o3[t] = even4 + odd4;
        o4[t] = even4 - odd4;
        o5[t] = i3[t];
    }
}

/* The columns of a padded row split by residue: q_m[k] = column 4k + m
 * of the row from column -pad on, k in [0, tw], q (4, tw + 1). Tile tx
 * reads q_0..3[tx] and q_0,1[tx + 1], so the horizontal step is one
 * step_bt over the tiles of the row. */

/* The k in [*lo, *hi) whose four columns 4k - pad .. 4k + 3 - pad all lie
 * in [0, in_w); *hi <= wide. */
static void inner_range(const nn_conv2d_shape *s, int wide, int *lo, int *hi)
{
    *lo = (s->pad + 3) / 4;
    *hi = s->in_w + s->pad - 4 < 0 ? 0 : (s->in_w + s->pad - 4) / 4 + 1;
    if (*hi > wide)
        *hi = wide;
    if (*lo > *hi)
        *lo = *hi;
}

/* q_m[k] = column 4k + m - pad of image row `src` (zero outside it) for
 * k in [first, last): the edges of the row, one value at a time. */
WINOGRAD43_STEP void split_edge(const nn_conv2d_shape *s, const float *src,
                                int first, int last, float *q, size_t wide)
{
    for (int k = first; k < last; k++)
        for (int m = 0; m < 4; m++) {
            int col = 4 * k + m - s->pad;
            q[(size_t)m * wide + k] = col >= 0 && col < s->in_w ? src[col] : 0.0f;
        }
}

/* q_m[k] = d[4k + m] on n columns at once: the inside of a row. */
WINOGRAD43_STEP void split_inner(size_t n, const float *restrict d,
                                 float *restrict q0, float *restrict q1,
                                 float *restrict q2, float *restrict q3)
{
    for (size_t k = 0; k < n; k++) {
        q0[k] = d[4 * k];
        q1[k] = d[4 * k + 1];
        q2[k] = d[4 * k + 2];
        q3[k] = d[4 * k + 3];
    }
}

/* Input row iy split by residue into q (4, wide), zero outside the image;
 * [lo, hi) from inner_range. */
WINOGRAD43_STEP void split_row(const nn_conv2d_shape *s, const float *plane,
                               int iy, int lo, int hi, float *q, size_t wide)
{
    const float *src;
    if (iy < 0 || iy >= s->in_h) {
        for (size_t k = 0; k < 4 * wide; k++)
            q[k] = 0.0f;
        return;
    }
    src = plane + (size_t)iy * s->in_w;
    split_edge(s, src, 0, lo, q, wide);
    if (hi > lo)
        split_inner((size_t)(hi - lo), src + 4 * lo - s->pad, q + lo,
                    q + wide + lo, q + 2 * wide + lo, q + 3 * wide + lo);
    split_edge(s, src, hi, (int)wide, q, wide);
}

/* d[4k + m] += q_m[k] on n columns at once: the adjoint of split_inner. */
WINOGRAD43_STEP void merge_inner(size_t n, const float *restrict q0,
                                 const float *restrict q1,
                                 const float *restrict q2,
                                 const float *restrict q3, float *restrict d)
{
    for (size_t k = 0; k < n; k++) {
        d[4 * k] += q0[k];
        d[4 * k + 1] += q1[k];
        d[4 * k + 2] += q2[k];
        d[4 * k + 3] += q3[k];
    }
}

/* Image row `row` += q_m[k] at column 4k + m - pad where that lies in the
 * image, for k in [first, last): the edges, one value at a time. */
WINOGRAD43_STEP void merge_edge(const nn_conv2d_shape *s, float *row,
                                int first, int last, const float *q,
                                size_t wide)
{
    for (int k = first; k < last; k++)
        for (int m = 0; m < 4; m++) {
            int col = 4 * k + m - s->pad;
            if (col >= 0 && col < s->in_w)
                row[col] += q[(size_t)m * wide + k];
        }
}

/* d[4k + b] = bias + i_b[k] on n columns at once: four rows of tile
 * values interleaved into an output row. */
WINOGRAD43_STEP void join_bias(size_t n, float bias, const float *restrict i0,
                               const float *restrict i1,
                               const float *restrict i2,
                               const float *restrict i3, float *restrict d)
{
    for (size_t k = 0; k < n; k++) {
        d[4 * k] = bias + i0[k];
        d[4 * k + 1] = bias + i1[k];
        d[4 * k + 2] = bias + i2[k];
        d[4 * k + 3] = bias + i3[k];
    }
}

/* V = B^T d B for every tile of one image x (in_c, in_h, in_w):
 * v (36, in_c, cols), this image's tiles starting at column `first`.
 * The horizontal transforms of padded row r go to h (6, 4, th + 1, tw)
 * at [j][r % 4][r / 4]: tile t = ty tw + tx then reads index t of the
 * four residues and t + tw of residues 0 and 1, so the vertical step is
 * one flat loop over all tiles. */
NN_TARGET_CLONES
static void input_transform(const nn_conv2d_shape *s, const float *x, float *v,
                            size_t cols, size_t first, float *buf)
{
    int tw = tile_cols(s), rows = 4 * tile_rows(s) + 2, lo, hi;
    size_t count = tiles(s), xi_step = (size_t)s->in_c * cols;
    size_t band = (size_t)(tile_rows(s) + 1) * tw, wide = (size_t)tw + 1;
    float *q = buf, *h = q + 4 * wide; /* q (4, tw + 1) */
    inner_range(s, (int)wide, &lo, &hi);
    for (int c = 0; c < s->in_c; c++) {
        const float *plane = x + (size_t)c * s->in_h * s->in_w;
        float *vc = v + (size_t)c * cols + first;
        for (int r = 0; r < rows; r++) { /* horizontal: d B */
            float *hr = h + (size_t)(r % 4) * band + (size_t)(r / 4) * tw;
            size_t stride = 4 * band;
            split_row(s, plane, r - s->pad, lo, hi, q, wide);
            step_bt((size_t)tw, q, q + wide, q + 2 * wide, q + 3 * wide, q + 1,
                    q + wide + 1, hr, hr + stride, hr + 2 * stride,
                    hr + 3 * stride, hr + 4 * stride, hr + 5 * stride);
        }
        for (int j = 0; j < 6; j++) { /* vertical: B^T (d B) */
            const float *hj = h + (size_t)j * 4 * band;
            step_bt(count, hj, hj + band, hj + 2 * band, hj + 3 * band, hj + tw,
                    hj + band + tw, vc + (size_t)(0 * 6 + j) * xi_step,
                    vc + (size_t)(1 * 6 + j) * xi_step, vc + (size_t)(2 * 6 + j) * xi_step,
                    vc + (size_t)(3 * 6 + j) * xi_step, vc + (size_t)(4 * 6 + j) * xi_step,
                    vc + (size_t)(5 * 6 + j) * xi_step);
        }
    }
}

/* y = A^T M A + bias for every tile of one image y (out_c, out_h, out_w);
 * m (36, out_c, cols), this image's tiles starting at column `first`. */
NN_TARGET_CLONES
static void output_transform(const nn_conv2d_shape *s, const float *m,
                             const float *bias, float *y, size_t cols,
                             size_t first, float *buf)
{
    int tw = tile_cols(s);
    size_t count = tiles(s), xi_step = (size_t)s->out_c * cols;
    float *h = buf;              /* (6, 4, count): M A, row i, column b */
    float *out = h + 24 * count; /* (4, 4, count): y, row a, column b */
    for (int c = 0; c < s->out_c; c++) {
        const float *mc = m + (size_t)c * cols + first;
        float *plane = y + (size_t)c * s->out_h * s->out_w;
        for (int i = 0; i < 6; i++) { /* horizontal: M A */
            const float *mi = mc + (size_t)(i * 6) * xi_step;
            float *hi = h + (size_t)(4 * i) * count;
            step_at(count, mi, mi + xi_step, mi + 2 * xi_step, mi + 3 * xi_step,
                    mi + 4 * xi_step, mi + 5 * xi_step, hi, hi + count,
                    hi + 2 * count, hi + 3 * count);
        }
        for (int b = 0; b < 4; b++) { /* vertical: A^T (M A) */
            const float *hb = h + (size_t)b * count;
            float *ob = out + (size_t)b * count;
            step_at(count, hb, hb + 4 * count, hb + 8 * count, hb + 12 * count,
                    hb + 16 * count, hb + 20 * count, ob, ob + 4 * count,
                    ob + 8 * count, ob + 12 * count);
        }
        for (int oy = 0; oy < s->out_h; oy++) { /* interleave, add the bias */
            const float *src = out + (size_t)(oy % 4 * 4) * count + (size_t)(oy / 4) * tw;
            float *dst = plane + (size_t)oy * s->out_w;
            int whole = s->out_w / 4;
            join_bias((size_t)whole, bias[c], src, src + count, src + 2 * count,
                      src + 3 * count, dst);
            for (int b = 0; b < s->out_w % 4; b++)
                dst[4 * whole + b] = bias[c] + src[(size_t)b * count + whole];
        }
    }
}

/* dx += B dV B^T for every tile of one image, the adjoint of
 * input_transform; dv as v there. Overlapping tiles add up: rows 4 and 5
 * of a tile (columns 4 and 5) are the next one's rows 0 and 1 (columns 0
 * and 1), added after those are set. h as in input_transform; the row's
 * adjoint goes to c (4, tw + 1), column 4k + m of the padded row at
 * c[m][k]. */
NN_TARGET_CLONES
static void input_adjoint(const nn_conv2d_shape *s, const float *dv, float *dx,
                          size_t cols, size_t first, float *buf)
{
    int tw = tile_cols(s), rows = 4 * tile_rows(s) + 2, lo, hi;
    size_t count = tiles(s), xi_step = (size_t)s->in_c * cols;
    size_t band = (size_t)(tile_rows(s) + 1) * tw, wide = (size_t)tw + 1;
    float *c0 = buf, *c1 = c0 + wide, *c2 = c1 + wide, *c3 = c2 + wide;
    float *h = c0 + 4 * wide;
    inner_range(s, (int)wide, &lo, &hi);
    for (int c = 0; c < s->in_c; c++) {
        float *plane = dx + (size_t)c * s->in_h * s->in_w;
        const float *vc = dv + (size_t)c * cols + first;
        for (int j = 0; j < 6; j++) { /* vertical: B dV */
            float *hj = h + (size_t)j * 4 * band;
            const float *v0 = vc + (size_t)j * xi_step;
            const float *v1 = v0 + 6 * xi_step, *v2 = v1 + 6 * xi_step;
            const float *v3 = v2 + 6 * xi_step, *v4 = v3 + 6 * xi_step;
            const float *v5 = v4 + 6 * xi_step;
            step_b_first(count, v0, v1, v2, v3, v4, v5, hj, hj + band,
                         hj + 2 * band, hj + 3 * band);
            for (int t = 0; t < tw; t++)
                hj[count + t] = hj[band + count + t] = 0.0f;
            step_b_last(count, v0, v1, v2, v3, v4, v5, hj + tw, hj + band + tw);
        }
        for (int r = 0; r < rows; r++) { /* horizontal: (B dV) B^T per row */
            const float *hr = h + (size_t)(r % 4) * band + (size_t)(r / 4) * tw;
            size_t stride = 4 * band;
            int iy = r - s->pad;
            float *row;
            if (iy < 0 || iy >= s->in_h)
                continue;
            row = plane + (size_t)iy * s->in_w;
            step_b_first((size_t)tw, hr, hr + stride, hr + 2 * stride,
                         hr + 3 * stride, hr + 4 * stride, hr + 5 * stride, c0,
                         c1, c2, c3);
            c0[tw] = c1[tw] = c2[tw] = c3[tw] = 0.0f;
            step_b_last((size_t)tw, hr, hr + stride, hr + 2 * stride,
                        hr + 3 * stride, hr + 4 * stride, hr + 5 * stride,
                        c0 + 1, c1 + 1);
            /* padded column ix + pad; every column of the row has one */
            merge_edge(s, row, 0, lo, c0, wide);
            if (hi > lo)
                merge_inner((size_t)(hi - lo), c0 + lo, c1 + lo, c2 + lo,
                            c3 + lo, row + 4 * lo - s->pad);
            merge_edge(s, row, hi, (int)wide, c0, wide);
        }
    }
}

/* dM = A dY A^T for every tile of one image dy (out_c, out_h, out_w),
 * outputs beyond the edge counting as zero: the adjoint of
 * output_transform; dm as m there. */
NN_TARGET_CLONES
static void output_adjoint(const nn_conv2d_shape *s, const float *dy, float *dm,
                           size_t cols, size_t first, float *buf)
{
    int th = tile_rows(s), tw = tile_cols(s);
    size_t count = tiles(s), xi_step = (size_t)s->out_c * cols;
    float *g = buf;            /* (4, 4, count): dy, row a, column b */
    float *q = g + 16 * count; /* (4, 6, count): dY A^T, row a */
    for (int c = 0; c < s->out_c; c++) {
        const float *plane = dy + (size_t)c * s->out_h * s->out_w;
        float *mc = dm + (size_t)c * cols + first;
        for (int oy = 0; oy < 4 * th; oy++) { /* split by residue, pad with 0 */
            float *dst = g + (size_t)(oy % 4 * 4) * count + (size_t)(oy / 4) * tw;
            const float *src = plane + (size_t)(oy < s->out_h ? oy : 0) * s->out_w;
            int whole = oy < s->out_h ? s->out_w / 4 : 0;
            int rest = oy < s->out_h ? s->out_w % 4 : 0;
            split_inner((size_t)whole, src, dst, dst + count, dst + 2 * count,
                        dst + 3 * count);
            for (int k = whole; k < tw; k++)
                for (int b = 0; b < 4; b++)
                    dst[(size_t)b * count + k] =
                        k == whole && b < rest ? src[4 * k + b] : 0.0f;
        }
        for (int a = 0; a < 4; a++) { /* horizontal: dY A^T */
            const float *ga = g + (size_t)(4 * a) * count;
            float *qa = q + (size_t)(6 * a) * count;
            step_a(count, ga, ga + count, ga + 2 * count, ga + 3 * count, qa,
                   qa + count, qa + 2 * count, qa + 3 * count, qa + 4 * count,
                   qa + 5 * count);
        }
        for (int j = 0; j < 6; j++) { /* vertical: A (dY A^T) */
            const float *qj = q + (size_t)j * count;
            float *mj = mc + (size_t)j * xi_step;
            step_a(count, qj, qj + 6 * count, qj + 12 * count, qj + 18 * count,
                   mj, mj + 6 * xi_step, mj + 12 * xi_step, mj + 18 * xi_step,
                   mj + 24 * xi_step, mj + 30 * xi_step);
        }
    }
}

/* F(4x4, 3x3)'s steps for the drivers of conv_winograd.c. */
static const nn_winograd_steps steps43 = {36, tiles, input_transform,
                                          output_transform, output_adjoint,
                                          input_adjoint};

void nn_winograd43_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                           const float *u, const float *x, const float *bias,
                           float *y, float *scratch, int n)
{
    nn_winograd_run_forward(&steps43, s, sgemm, u, x, bias, y, scratch, n);
}

void nn_winograd43_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                            const float *u, const float *x, const float *dy,
                            float *dx, float *du, float *dbias, float *scratch,
                            int n)
{
    nn_winograd_run_backward(&steps43, s, sgemm, u, x, dy, dx, du, dbias,
                             scratch, n);
}
