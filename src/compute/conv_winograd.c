/* 3x3 convolutions with stride 1 by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2015).
 *
 * Outputs are cut into 2x2 tiles; the tile whose top-left output is
 * (2ty, 2tx) depends on the 4x4 input block d starting at
 * (2ty - pad, 2tx - pad), and for one output channel
 *
 *     Y = A^T [ sum over ci of (G g G^T) .* (B^T d B) ] A
 *
 * with g the 3x3 kernel from input channel ci, .* the element-wise product
 * and the small constant matrices
 *
 *     B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1 1  1  0 |
 *           | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0 1 -1 -1 |
 *           | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *           | 0  1  0 -1 |        | 0    0    1  |
 *
 * A tile costs 16 multiplications per channel pair instead of 36. The 16
 * positions xi of the 4x4 domain are independent, and at each one the sum
 * over input channels is a matrix product done by the gemm:
 *
 *     M[xi] (out_c, tiles) = U[xi] (out_c, in_c) V[xi] (in_c, tiles)
 *
 * where U = G g G^T (weights), V = B^T d B (inputs). Backward runs the
 * adjoints of the same steps: dM = A dY A^T per tile, then
 *     dU[xi] += dM[xi] V[xi]^T   (weight gradient, dW = G^T dU G)
 *     dV[xi]  = U[xi]^T dM[xi]   (input gradient, dX += B dV B^T per tile)
 *
 * Layouts: U (16, out_c, in_c); V (16, in_c, cols) and M (16, out_c, cols)
 * where cols counts the tiles of a group of images, image after image, each
 * image's tiles row after row. */
#include "compute/winograd.h"
#include "core/util.h"

/* Tiles are gathered until a gemm has about this many columns. */
#define WINOGRAD_COLS 128
/* Most images in one group. */
#define WINOGRAD_GROUP 16
/* The weight transforms run over blocks of this many channel pairs, one
 * pair per lane of every array, so they vectorise; each pair's arithmetic
 * is the one-pair formula's, in the same order. */
#define PAIR_BLOCK 16

int nn_winograd_fits(const nn_conv2d_shape *s)
{
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && s->in_c >= 8 &&
           s->out_c >= 8;
}

/* Tiles per image: rows, columns, all. */
static int tile_rows(const nn_conv2d_shape *s) { return (s->out_h + 1) / 2; }
static int tile_cols(const nn_conv2d_shape *s) { return (s->out_w + 1) / 2; }
static size_t tiles(const nn_conv2d_shape *s)
{
    return (size_t)tile_rows(s) * tile_cols(s);
}

int nn_winograd_group_for(size_t per_image, size_t cols, int most)
{
    size_t group = (cols + per_image - 1) / per_image;
    return group > (size_t)most ? most : (int)group;
}

size_t nn_winograd_scratch_for(const nn_conv2d_shape *s, int points,
                               int group, size_t per_image, size_t buffers)
{
    size_t cols = (size_t)group * per_image;
    /* V and M (or dM), the weight-gradient sum dU, the plane buffers */
    return (size_t)points * (s->in_c + s->out_c) * cols +
           (size_t)points * s->out_c * s->in_c + buffers;
}

int nn_winograd_group(const nn_conv2d_shape *s)
{
    return nn_winograd_group_for(tiles(s), WINOGRAD_COLS, WINOGRAD_GROUP);
}

uint64_t nn_winograd_macs(const nn_conv2d_shape *s)
{
    return (uint64_t)16 * s->out_c * s->in_c * tiles(s);
}

size_t nn_winograd_weights_size(const nn_conv2d_shape *s)
{
    return (size_t)16 * s->out_c * s->in_c;
}

/* Floats of the per-plane buffers: plane_buffers for the input's
 * transforms, 12 values per tile for the output's. */
static size_t buffer_size(const nn_conv2d_shape *s)
{
    size_t th = tile_rows(s), tw = tile_cols(s);
    size_t input = 4 * (tw + 1) + 8 * (th + 1) * tw, output = 12 * th * tw;
    return input > output ? input : output;
}

size_t nn_winograd_scratch(const nn_conv2d_shape *s)
{
    return nn_winograd_scratch_for(s, 16, nn_winograd_group(s), tiles(s),
                                   buffer_size(s));
}

/* U = G g G^T for the (out, in) channel pairs [first, last) of
 * u (16, out_c, in_c). */
NN_TARGET_CLONES
void nn_winograd_weights(const nn_conv2d_shape *s, const float *w, float *u,
                         size_t first, size_t last)
{
    size_t pairs = (size_t)s->out_c * s->in_c;
    for (size_t p = first; p < last; p += PAIR_BLOCK) {
        size_t n = last - p < PAIR_BLOCK ? last - p : PAIR_BLOCK;
        float g[9][PAIR_BLOCK];    /* pair p + l's (3, 3) kernel in lane l */
        float t[3][4][PAIR_BLOCK]; /* g G^T */
        for (int k = 0; k < 9; k++)
            for (size_t l = 0; l < PAIR_BLOCK; l++)
                g[k][l] = l < n ? w[9 * (p + l) + k] : 0.0f;
        for (int k = 0; k < 3; k++) {
            const float *r0 = g[3 * k], *r1 = g[3 * k + 1], *r2 = g[3 * k + 2];
            for (int l = 0; l < PAIR_BLOCK; l++) {
                t[k][0][l] = r0[l];
                t[k][1][l] = (r0[l] + r1[l] + r2[l]) * 0.5f;
                t[k][2][l] = (r0[l] - r1[l] + r2[l]) * 0.5f;
                t[k][3][l] = r2[l];
            }
        }
        for (int j = 0; j < 4; j++) {
            float *u0 = u + (size_t)(0 * 4 + j) * pairs + p;
            float *u1 = u + (size_t)(1 * 4 + j) * pairs + p;
            float *u2 = u + (size_t)(2 * 4 + j) * pairs + p;
            float *u3 = u + (size_t)(3 * 4 + j) * pairs + p;
            for (size_t l = 0; l < n; l++) {
                u0[l] = t[0][j][l];
                u1[l] = (t[0][j][l] + t[1][j][l] + t[2][j][l]) * 0.5f;
                u2[l] = (t[0][j][l] - t[1][j][l] + t[2][j][l]) * 0.5f;
                u3[l] = t[2][j][l];
            }
        }
    }
}

/* dW += G^T dU G for every channel pair: the adjoint of nn_winograd_weights. */
NN_TARGET_CLONES
void nn_winograd_weight_grads(const nn_conv2d_shape *s, const float *du,
                              float *dw)
{
    size_t pairs = (size_t)s->out_c * s->in_c;
    for (size_t p = 0; p < pairs; p += PAIR_BLOCK) {
        size_t n = pairs - p < PAIR_BLOCK ? pairs - p : PAIR_BLOCK;
        float h[4][3][PAIR_BLOCK]; /* dU G */
        float out[3][3][PAIR_BLOCK];
        for (int i = 0; i < 4; i++) {
            const float *d0 = du + (size_t)(i * 4 + 0) * pairs + p;
            const float *d1 = du + (size_t)(i * 4 + 1) * pairs + p;
            const float *d2 = du + (size_t)(i * 4 + 2) * pairs + p;
            const float *d3 = du + (size_t)(i * 4 + 3) * pairs + p;
            for (size_t l = 0; l < PAIR_BLOCK; l++) {
                float u0 = l < n ? d0[l] : 0.0f, u1 = l < n ? d1[l] : 0.0f;
                float u2 = l < n ? d2[l] : 0.0f, u3 = l < n ? d3[l] : 0.0f;
                h[i][0][l] = u0 + (u1 + u2) * 0.5f;
                h[i][1][l] = (u1 - u2) * 0.5f;
                h[i][2][l] = (u1 + u2) * 0.5f + u3;
            }
        }
        for (int c = 0; c < 3; c++)
            for (int l = 0; l < PAIR_BLOCK; l++) {
                out[0][c][l] = h[0][c][l] + (h[1][c][l] + h[2][c][l]) * 0.5f;
                out[1][c][l] = (h[1][c][l] - h[2][c][l]) * 0.5f;
                out[2][c][l] = (h[1][c][l] + h[2][c][l]) * 0.5f + h[3][c][l];
            }
        for (size_t l = 0; l < n; l++)
            for (int k = 0; k < 9; k++)
                dw[9 * (p + l) + k] += out[k / 3][k % 3][l];
    }
}

/* The four 1-D steps every transform is made of, each applied to n
 * columns at once (one value per tile): B^T and A^T combine 4 rows of a
 * 4x4 block, B and A are their adjoints. Separate pointers that never
 * overlap let the compiler vectorise across tiles. */

/* (o0, o1, o2, o3) = B^T (i0, i1, i2, i3) */
static void step_bt(size_t n, const float *restrict i0, const float *restrict i1,
                    const float *restrict i2, const float *restrict i3,
                    float *restrict o0, float *restrict o1,
                    float *restrict o2, float *restrict o3)
{
    for (size_t t = 0; t < n; t++) {
        o0[t] = i0[t] - i2[t];
        o1[t] = i1[t] + i2[t];
        o2[t] = i2[t] - i1[t];
        o3[t] = i1[t] - i3[t];
    }
}

/* (o0, o1) = B (i0, i1, i2, i3), rows 0 and 1, and (o2, o3) += rows 2
 * and 3: in the input's adjoint a tile's last two rows are the next
 * tile's first two, so they are added after the first two are set. */
static void step_b_first(size_t n, const float *restrict i0,
                         const float *restrict i1, const float *restrict i2,
                         const float *restrict i3, float *restrict o0,
                         float *restrict o1)
{
    for (size_t t = 0; t < n; t++) {
        o0[t] = i0[t];
        o1[t] = i1[t] - i2[t] + i3[t];
    }
}

static void step_b_last(size_t n, const float *restrict i0,
                        const float *restrict i1, const float *restrict i2,
                        const float *restrict i3, float *restrict o2,
                        float *restrict o3)
{
    for (size_t t = 0; t < n; t++) {
        o2[t] += i1[t] + i2[t] - i0[t];
        o3[t] -= i3[t];
    }
}

/* (o0, o1) = A^T (i0, i1, i2, i3) */
static void step_at(size_t n, const float *restrict i0, const float *restrict i1,
                    const float *restrict i2, const float *restrict i3,
                    float *restrict o0, float *restrict o1)
{
    for (size_t t = 0; t < n; t++) {
        o0[t] = i0[t] + i1[t] + i2[t];
        o1[t] = i1[t] - i2[t] - i3[t];
    }
}

/* (o0, o1, o2, o3) = A (i0, i1) */
static void step_a(size_t n, const float *restrict i0, const float *restrict i1,
                   float *restrict o0, float *restrict o1, float *restrict o2,
                   float *restrict o3)
{
    for (size_t t = 0; t < n; t++) {
        o0[t] = i0[t];
        o1[t] = i0[t] + i1[t];
        o2[t] = i0[t] - i1[t];
        o3[t] = -i1[t];
    }
}

/* h_j[tx] = (d B)_j for the tw tiles of one row d (from column -pad on,
 * 2 tw + 2 values): tile tx reads d[2tx .. 2tx + 3]. */
static void row_bt(int tw, const float *restrict d, float *restrict h0,
                   float *restrict h1, float *restrict h2, float *restrict h3)
{
    for (int tx = 0; tx < tw; tx++) {
        float d0 = d[2 * tx], d1 = d[2 * tx + 1];
        float d2 = d[2 * tx + 2], d3 = d[2 * tx + 3];
        h0[tx] = d0 - d2;
        h1[tx] = d1 + d2;
        h2[tx] = d2 - d1;
        h3[tx] = d1 - d3;
    }
}

/* Buffers for one plane, cut from buf:
 *   row    (2 tw + 2): a zero-padded input row;
 *   e, o   (tw + 1) each: one row of the input's adjoint, split by column
 *          parity (column 2k - pad, 2k + 1 - pad);
 *   re, ro (4, th + 1, tw): per tile column, the 4 values of one row's
 *          horizontal transform, for even and for odd rows.
 * With rows split by parity, tile t = ty tw + tx reads index t and t + tw
 * of re and ro: the vertical steps are flat loops over all tiles. */
typedef struct {
    float *row, *e, *o, *re, *ro;
    size_t band; /* (th + 1) tw */
} plane_buffers;

static plane_buffers plane_buffers_in(const nn_conv2d_shape *s, float *buf)
{
    plane_buffers b;
    size_t th = tile_rows(s), tw = tile_cols(s);
    b.band = (th + 1) * tw;
    b.row = buf;
    b.e = b.row + 2 * tw + 2;
    b.o = b.e + tw + 1;
    b.re = b.o + tw + 1;
    b.ro = b.re + 4 * b.band;
    return b;
}

/* The k in [*lo, *hi) for which column 2k + offset lies in [0, in_w). */
static void column_range(const nn_conv2d_shape *s, int offset, int width,
                         int *lo, int *hi)
{
    *lo = offset >= 0 ? 0 : (-offset + 1) / 2;
    *hi = s->in_w - offset <= 0 ? 0 : (s->in_w - offset + 1) / 2;
    if (*hi > width)
        *hi = width;
    if (*lo > *hi)
        *lo = *hi;
}

/* Input row iy from column -pad on, 2 tw + 2 values, zero outside the
 * image: the row itself when no padding is needed, else a copy in buf. */
static const float *padded_row(const nn_conv2d_shape *s, const float *plane,
                               int iy, float *buf)
{
    int width = 2 * tile_cols(s) + 2, hi;
    int inside = iy >= 0 && iy < s->in_h;
    const float *src = plane + (size_t)(inside ? iy : 0) * s->in_w;
    if (inside && s->pad == 0 && width <= s->in_w)
        return src;
    for (int k = 0; k < width; k++)
        buf[k] = 0.0f;
    if (!inside)
        return buf;
    hi = s->in_w + s->pad < width ? s->in_w + s->pad : width;
    for (int k = s->pad; k < hi; k++) /* buf[pad] is column 0 */
        buf[k] = src[k - s->pad];
    return buf;
}

/* V = B^T d B for every tile of one image x (in_c, in_h, in_w):
 * v (16, in_c, cols), this image's tiles starting at column `first`. */
NN_TARGET_CLONES
static void input_transform(const nn_conv2d_shape *s, const float *x, float *v,
                            size_t cols, size_t first, float *buf)
{
    int tw = tile_cols(s), rows = 2 * tile_rows(s) + 2;
    size_t count = tiles(s), xi_step = (size_t)s->in_c * cols;
    plane_buffers b = plane_buffers_in(s, buf);
    for (int c = 0; c < s->in_c; c++) {
        const float *plane = x + (size_t)c * s->in_h * s->in_w;
        float *vc = v + (size_t)c * cols + first;
        /* horizontal: d B, row r of the padded plane */
        for (int r = 0; r < rows; r++) {
            float *h = (r % 2 ? b.ro : b.re) + (size_t)(r / 2) * tw;
            row_bt(tw, padded_row(s, plane, r - s->pad, b.row), h, h + b.band,
                   h + 2 * b.band, h + 3 * b.band);
        }
        /* vertical: B^T (d B) over rows 2ty .. 2ty + 3 of every tile */
        for (int j = 0; j < 4; j++) {
            const float *even = b.re + j * b.band, *odd = b.ro + j * b.band;
            step_bt(count, even, odd, even + tw, odd + tw,
                    vc + (size_t)(0 * 4 + j) * xi_step, vc + (size_t)(1 * 4 + j) * xi_step,
                    vc + (size_t)(2 * 4 + j) * xi_step, vc + (size_t)(3 * 4 + j) * xi_step);
        }
    }
}

/* dx += B dV B^T for every tile of one image, the adjoint of
 * input_transform; dv as v there. Overlapping tiles add up. */
NN_TARGET_CLONES
static void input_adjoint(const nn_conv2d_shape *s, const float *dv, float *dx,
                          size_t cols, size_t first, float *buf)
{
    int tw = tile_cols(s), rows = 2 * tile_rows(s) + 2;
    size_t count = tiles(s), xi_step = (size_t)s->in_c * cols;
    plane_buffers b = plane_buffers_in(s, buf);
    int e_lo, e_hi, o_lo, o_hi;
    column_range(s, -s->pad, tw + 1, &e_lo, &e_hi);
    column_range(s, 1 - s->pad, tw + 1, &o_lo, &o_hi);
    for (int c = 0; c < s->in_c; c++) {
        float *plane = dx + (size_t)c * s->in_h * s->in_w;
        const float *vc = dv + (size_t)c * cols + first;
        /* vertical: B dV, rows 2ty, 2ty + 1 set, then 2ty + 2, 2ty + 3 added */
        for (int j = 0; j < 4; j++) {
            float *even = b.re + j * b.band, *odd = b.ro + j * b.band;
            const float *v0 = vc + (size_t)(0 * 4 + j) * xi_step;
            const float *v1 = vc + (size_t)(1 * 4 + j) * xi_step;
            const float *v2 = vc + (size_t)(2 * 4 + j) * xi_step;
            const float *v3 = vc + (size_t)(3 * 4 + j) * xi_step;
            step_b_first(count, v0, v1, v2, v3, even, odd);
            for (int t = 0; t < tw; t++)
                even[count + t] = odd[count + t] = 0.0f;
            step_b_last(count, v0, v1, v2, v3, even + tw, odd + tw);
        }
        /* horizontal: (B dV) B^T per row, then added into the plane */
        for (int r = 0; r < rows; r++) {
            const float *h = (r % 2 ? b.ro : b.re) + (size_t)(r / 2) * tw;
            int iy = r - s->pad;
            float *row;
            if (iy < 0 || iy >= s->in_h)
                continue;
            row = plane + (size_t)iy * s->in_w;
            step_b_first((size_t)tw, h, h + b.band, h + 2 * b.band, h + 3 * b.band,
                         b.e, b.o);
            b.e[tw] = b.o[tw] = 0.0f;
            step_b_last((size_t)tw, h, h + b.band, h + 2 * b.band, h + 3 * b.band,
                        b.e + 1, b.o + 1);
            for (int k = e_lo; k < e_hi; k++)
                row[2 * k - s->pad] += b.e[k];
            for (int k = o_lo; k < o_hi; k++)
                row[2 * k + 1 - s->pad] += b.o[k];
        }
    }
}

/* y = A^T M A + bias for every tile of one image y (out_c, out_h, out_w);
 * m (16, out_c, cols), this image's tiles starting at column `first`. */
NN_TARGET_CLONES
static void output_transform(const nn_conv2d_shape *s, const float *m,
                             const float *bias, float *y, size_t cols,
                             size_t first, float *buf)
{
    int tw = tile_cols(s);
    size_t count = tiles(s), xi_step = (size_t)s->out_c * cols;
    float *h = buf;             /* (4, 2, count): M A, row i, column b */
    float *out = h + 8 * count; /* (2, 2, count): y, row a, column b */
    for (int c = 0; c < s->out_c; c++) {
        const float *mc = m + (size_t)c * cols + first;
        float *plane = y + (size_t)c * s->out_h * s->out_w;
        for (int i = 0; i < 4; i++) /* horizontal: M A */
            step_at(count, mc + (size_t)(i * 4 + 0) * xi_step,
                    mc + (size_t)(i * 4 + 1) * xi_step, mc + (size_t)(i * 4 + 2) * xi_step,
                    mc + (size_t)(i * 4 + 3) * xi_step, h + (size_t)(2 * i) * count,
                    h + (size_t)(2 * i + 1) * count);
        for (int b = 0; b < 2; b++) /* vertical: A^T (M A) */
            step_at(count, h + (size_t)(0 + b) * count, h + (size_t)(2 + b) * count,
                    h + (size_t)(4 + b) * count, h + (size_t)(6 + b) * count,
                    out + (size_t)b * count, out + (size_t)(2 + b) * count);
        for (int oy = 0; oy < s->out_h; oy++) { /* interleave, add the bias */
            const float *even = out + (size_t)(oy % 2 * 2) * count + (size_t)(oy / 2) * tw;
            const float *odd = even + count;
            float *row = plane + (size_t)oy * s->out_w;
            int pairs = s->out_w / 2;
            for (int k = 0; k < pairs; k++) {
                row[2 * k] = bias[c] + even[k];
                row[2 * k + 1] = bias[c] + odd[k];
            }
            if (s->out_w % 2)
                row[2 * pairs] = bias[c] + even[pairs];
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
    float *g = buf;           /* (2, 2, count): dy, row a, column b */
    float *q = g + 4 * count; /* (2, 4, count): dY A^T, row a */
    for (int c = 0; c < s->out_c; c++) {
        const float *plane = dy + (size_t)c * s->out_h * s->out_w;
        float *mc = dm + (size_t)c * cols + first;
        for (int oy = 0; oy < 2 * th; oy++) { /* split by parity, pad with 0 */
            float *even = g + (size_t)(oy % 2 * 2) * count + (size_t)(oy / 2) * tw;
            float *odd = even + count;
            const float *row = plane + (size_t)(oy < s->out_h ? oy : 0) * s->out_w;
            int pairs = oy < s->out_h ? s->out_w / 2 : 0;
            for (int k = 0; k < pairs; k++) {
                even[k] = row[2 * k];
                odd[k] = row[2 * k + 1];
            }
            for (int k = pairs; k < tw; k++)
                even[k] = odd[k] = 0.0f;
            if (oy < s->out_h && s->out_w % 2)
                even[pairs] = row[2 * pairs];
        }
        for (int a = 0; a < 2; a++) /* horizontal: dY A^T */
            step_a(count, g + (size_t)(2 * a) * count, g + (size_t)(2 * a + 1) * count,
                   q + (size_t)(4 * a) * count, q + (size_t)(4 * a + 1) * count,
                   q + (size_t)(4 * a + 2) * count, q + (size_t)(4 * a + 3) * count);
        for (int j = 0; j < 4; j++) /* vertical: A (dY A^T) */
            step_a(count, q + (size_t)j * count, q + (size_t)(4 + j) * count,
                   mc + (size_t)(0 * 4 + j) * xi_step, mc + (size_t)(1 * 4 + j) * xi_step,
                   mc + (size_t)(2 * 4 + j) * xi_step, mc + (size_t)(3 * 4 + j) * xi_step);
    }
}

void nn_winograd_gemms_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                               int points, const float *u, const float *v,
                               float *m, size_t cols)
{
    for (int xi = 0; xi < points; xi++)
        sgemm(0, 0, s->out_c, (int)cols, s->in_c, 1.0f,
              u + (size_t)xi * s->out_c * s->in_c, s->in_c,
              v + (size_t)xi * s->in_c * cols, (int)cols, 0.0f,
              m + (size_t)xi * s->out_c * cols, (int)cols);
}

void nn_winograd_gemms_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                                int points, const float *u, const float *dm,
                                float *v, float *du, int input_grad,
                                size_t cols)
{
    for (int xi = 0; xi < points; xi++) {
        const float *dm_xi = dm + (size_t)xi * s->out_c * cols;
        float *v_xi = v + (size_t)xi * s->in_c * cols;
        /* dU[xi] (out_c, in_c) += dM[xi] (out_c, cols) V[xi]^T */
        sgemm(0, 1, s->out_c, s->in_c, (int)cols, 1.0f, dm_xi, (int)cols, v_xi,
              (int)cols, 1.0f, du + (size_t)xi * s->out_c * s->in_c, s->in_c);
        /* dV[xi] (in_c, cols) = U[xi]^T dM[xi], over V (no longer needed) */
        if (input_grad)
            sgemm(1, 0, s->in_c, (int)cols, s->out_c, 1.0f,
                  u + (size_t)xi * s->out_c * s->in_c, s->in_c, dm_xi,
                  (int)cols, 0.0f, v_xi, (int)cols);
    }
}

void nn_winograd_bias_grads(const nn_conv2d_shape *s, const float *dy,
                            float *dbias)
{
    size_t plane = (size_t)s->out_h * s->out_w;
    for (int c = 0; c < s->out_c; c++)
        dbias[c] += nn_sum(dy + c * plane, plane);
}

void nn_winograd_run_forward(const nn_winograd_steps *k,
                             const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                             const float *u, const float *x, const float *bias,
                             float *y, float *scratch, int n)
{
    size_t per_image = k->tiles(s), cols = (size_t)n * per_image;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    float *v = scratch, *m = v + (size_t)k->points * s->in_c * cols;
    float *buf = m + (size_t)k->points * s->out_c * cols;
    for (int i = 0; i < n; i++)
        k->input(s, x + i * in_size, v, cols, i * per_image, buf);
    nn_winograd_gemms_forward(s, sgemm, k->points, u, v, m, cols);
    for (int i = 0; i < n; i++)
        k->output(s, m, bias, y + i * out_size, cols, i * per_image, buf);
}

void nn_winograd_run_backward(const nn_winograd_steps *k,
                              const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                              const float *u, const float *x, const float *dy,
                              float *dx, float *du, float *dbias,
                              float *scratch, int n)
{
    size_t per_image = k->tiles(s), cols = (size_t)n * per_image;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    float *v = scratch, *dm = v + (size_t)k->points * s->in_c * cols;
    float *buf = dm + (size_t)k->points * s->out_c * cols;
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + i * out_size;
        nn_winograd_bias_grads(s, dyi, dbias);
        k->input(s, x + i * in_size, v, cols, i * per_image, buf);
        k->output_adjoint(s, dyi, dm, cols, i * per_image, buf);
    }
    nn_winograd_gemms_backward(s, sgemm, k->points, u, dm, v, du, dx != NULL,
                               cols);
    if (dx)
        for (int i = 0; i < n; i++)
            k->input_adjoint(s, v, dx + i * in_size, cols, i * per_image, buf);
}

/* F(2x2, 3x3)'s steps for the drivers above. */
static const nn_winograd_steps steps22 = {16, tiles, input_transform,
                                          output_transform, output_adjoint,
                                          input_adjoint};

void nn_winograd_forward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                         const float *u, const float *x, const float *bias,
                         float *y, float *scratch, int n)
{
    nn_winograd_run_forward(&steps22, s, sgemm, u, x, bias, y, scratch, n);
}

void nn_winograd_backward(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                          const float *u, const float *x, const float *dy,
                          float *dx, float *du, float *dbias, float *scratch,
                          int n)
{
    nn_winograd_run_backward(&steps22, s, sgemm, u, x, dy, dx, du, dbias,
                             scratch, n);
}
