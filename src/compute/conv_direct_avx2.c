/* Direct convolution for stride 1 and few channels, with AVX2 + FMA.
 *
 * With 1 or 16 input channels, im2col + gemm spends most of its time
 * gathering short rows. These kernels read a zero-padded copy of the image
 * instead and vectorise along output channels: the outputs of one pixel for
 * 8 channels are one ymm, the weights of one tap (c, ki, kj) for all output
 * channels are one contiguous row, and each input value is broadcast. A tile
 * of 6 pixels x 16 channels keeps 12 accumulators in registers and, per tap,
 * loads 2 weight vectors and broadcasts 6 inputs for 12 FMAs.
 *
 * Three passes, two kernels:
 *   forward  yt[p][o]  = b[o] + sum_{c,ki,kj} xpad[c][p + (ki,kj)] W[o][c][ki][kj]
 *   dx       dxt[p][c] = sum_{o,ki,kj} dypad[o][p + (ki,kj)] W[o][c][kh-1-ki][kw-1-kj]
 *            (the same convolution, of dy padded by k-1-pad, with the kernel
 *            turned 180 degrees and the channels swapped)
 *   dW       dWt[(c,ki,kj)][o] += sum_p xpad[c][p + (ki,kj)] dyt[p][o]
 * where p runs over the output pixels and "p + (ki,kj)" is the padded input
 * pixel ki rows down and kj columns right of p. The pixel-major buffers
 * (yt, dxt, dyt: pixels x channels rounded up to 8) are transposed to and
 * from the NCHW tensors 8 x 8 at a time. With 4 or fewer input channels,
 * dx is vectorised along rows of pixels instead (conv_rows): lanes of 8
 * channels would be mostly empty.
 *
 * The vector code is compiled for AVX2 + FMA by target attributes (no build
 * flags), and the layer calls in only when nn_cpu_has_avx2() said yes.
 * Where nn_cpu_has_avx512(), the forward convolutions and dW run AVX-512
 * tiles instead (16 channels per zmm, up to 25 accumulators), which sum
 * each output's products in the same order from the same start: the same
 * bits as the AVX2 tiles, so training does not depend on the CPU. */
#include "compute/conv_direct.h"
#include "core/util.h"

#if defined(__x86_64__)

#include "avx2.h"
#include <string.h>

/* The shapes taken (measured at batch 64 on an AVX2 EPYC). Beyond 24
 * input or 64 output channels the gemms of im2col or Winograd have rows long
 * enough to be as fast: direct is 1.4 to 2x ahead of Winograd on 3x3 layers
 * of 8 to 16 channels, even with it at 24 -> 64. Below 16 taps per output
 * (3x3 on one channel, the deep preset's first layer) a tile's fixed costs
 * outweigh its 9 steps and im2col's gathers are cheap. */
#define DIRECT_MAX_IN_C 24
#define DIRECT_MAX_OUT_C 64
#define DIRECT_MAX_K 11
#define DIRECT_MIN_TAPS 16

/* Accumulators of a tile: 6 pixels (or taps) x 2 vectors, or 12 x 1. */
#define TILE_ACCS 12

int nn_conv_direct_fits(const nn_conv2d_shape *s)
{
    return s->stride == 1 && s->kh <= DIRECT_MAX_K && s->kw <= DIRECT_MAX_K &&
           s->pad < s->kh && s->pad < s->kw && s->in_c <= DIRECT_MAX_IN_C &&
           s->out_c <= DIRECT_MAX_OUT_C &&
           s->in_c * s->kh * s->kw >= DIRECT_MIN_TAPS;
}

/* n rounded up to a multiple of 8: one ymm of floats. */
static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* One direct convolution: planes of rows x cols (already padded) in, a
 * pixel-major out_h x out_w x lanes buffer out. */
typedef struct {
    int planes;       /* input channels */
    int rows, cols;   /* padded input plane */
    int kh, kw;       /* kernel */
    int out_h, out_w; /* output pixels: rows - kh + 1, cols - kw + 1 */
    int lanes;        /* output channels rounded up to 8 */
} direct_geom;

static direct_geom forward_geom(const nn_conv2d_shape *s)
{
    direct_geom g = {s->in_c, s->in_h + 2 * s->pad, s->in_w + 2 * s->pad,
                     s->kh, s->kw, s->out_h, s->out_w, (int)round8(s->out_c)};
    return g;
}

/* The input gradient as a convolution of dy padded by k-1-pad. */
static direct_geom input_grad_geom(const nn_conv2d_shape *s)
{
    direct_geom g = {s->out_c, s->out_h + 2 * (s->kh - 1 - s->pad),
                     s->out_w + 2 * (s->kw - 1 - s->pad), s->kh, s->kw,
                     s->in_h, s->in_w, (int)round8(s->in_c)};
    return g;
}

static size_t plane_floats(const direct_geom *g)
{
    return (size_t)g->rows * g->cols;
}

static size_t taps(const direct_geom *g)
{
    return (size_t)g->planes * g->kh * g->kw;
}

static size_t pixels(const direct_geom *g)
{
    return (size_t)g->out_h * g->out_w;
}

/* The input gradient of a layer with at most this many input channels is
 * vectorised along rows (conv_rows) rather than along channels, where
 * lanes of 8 would be mostly empty. */
#define ROWS_MAX_CHANNELS 4
/* Outputs of conv_rows per channel: out_h rows of `cols` (the last
 * cols - out_w of each thrown away), rounded up to 96 = 12 vectors, the
 * most one tile covers. */
static size_t row_span(const direct_geom *g)
{
    return ((size_t)g->out_h * g->cols + 95) / 96 * 96;
}

/* Floats conv_rows may read past the last input plane (zeros): the
 * rounding of row_span and the kernel's last columns. */
static size_t row_slack(const direct_geom *g)
{
    return row_span(g) - (size_t)g->out_h * g->cols + g->kw;
}

/* The pieces of one thread's scratch, each a multiple of 8 floats. */
typedef struct {
    float *weights; /* (taps, lanes): packed W, or turned W for dx */
    float *bias;    /* (lanes) forward; db's running sums backward */
    float *in;      /* (planes, rows, cols): the padded x, or padded dy
                     * and row_slack zeros */
    float *out;     /* (pixels, lanes): yt or dxt; or (in_c, row_span) */
    float *xpad;    /* backward: (in_c, rows, cols) padded x */
    float *dyt;     /* backward: (out_h * out_w, lanes) dy, pixel-major */
    float *dwt;     /* backward: (in_c*kh*kw, lanes) the weight gradient */
} direct_scratch;

/* Carves scratch; returns the floats used. scratch may be NULL to count. */
static size_t carve(const nn_conv2d_shape *s, int backward, float *scratch,
                    direct_scratch *out)
{
    direct_geom f = forward_geom(s), d = input_grad_geom(s);
    const direct_geom *g = backward ? &d : &f;
    size_t used = 0;
    float **slots[7] = {&out->weights, &out->bias, &out->in, &out->out,
                        &out->xpad, &out->dyt, &out->dwt};
    size_t sizes[7] = {taps(g) * g->lanes, (size_t)f.lanes,
                       plane_floats(g) * g->planes, pixels(g) * g->lanes,
                       0, 0, 0};
    if (backward) {
        size_t rows_out = (size_t)s->in_c * row_span(&d);
        sizes[2] += row_slack(&d);
        if (rows_out > sizes[3])
            sizes[3] = rows_out;
        sizes[4] = plane_floats(&f) * f.planes;
        sizes[5] = pixels(&f) * f.lanes;
        sizes[6] = taps(&f) * f.lanes;
    }
    for (int i = 0; i < 7; i++) {
        *slots[i] = scratch && sizes[i] ? scratch + used : NULL;
        used += round8(sizes[i]);
    }
    return used;
}

size_t nn_conv_direct_scratch(const nn_conv2d_shape *s)
{
    direct_scratch unused;
    size_t forward = carve(s, 0, NULL, &unused);
    size_t backward = carve(s, 1, NULL, &unused);
    return forward > backward ? forward : backward;
}

/* dst (planes, rows, cols) <- src (planes, h, w) with top rows and left
 * columns of zeros before it and zeros after it. */
static void pad_planes(const float *src, int planes, int h, int w, int top,
                       int left, int rows, int cols, float *dst)
{
    memset(dst, 0, sizeof(float) * planes * rows * cols);
    for (int c = 0; c < planes; c++)
        for (int y = 0; y < h; y++)
            memcpy(dst + ((size_t)c * rows + top + y) * cols + left,
                   src + ((size_t)c * h + y) * w, sizeof(float) * w);
}

/* planar (channels, count) <- pt (count, lanes), or += when accumulate:
 * planar[c][p] = pt[p][c] for c < channels. Eight channels at a time, so
 * that only 8 rows of planar are written at once: their stride is often a
 * multiple of 4 KB (32 x 32 images), and more would evict each other. */
NN_AVX2
static void to_planar(const float *pt, int lanes, int count, int channels,
                      float *planar, int accumulate)
{
    int tail = count / 8 * 8;
    for (int c0 = 0; c0 < channels; c0 += 8)
        for (int p = 0; p < tail; p += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = _mm256_loadu_ps(pt + (size_t)(p + i) * lanes + c0);
            nn_transpose_8x8(r); /* r[i]: channel c0 + i, pixels p.. p+8 */
            for (int i = 0; i < 8 && c0 + i < channels; i++) {
                float *dst = planar + (size_t)(c0 + i) * count + p;
                if (accumulate)
                    r[i] = _mm256_add_ps(_mm256_loadu_ps(dst), r[i]);
                _mm256_storeu_ps(dst, r[i]);
            }
        }
    for (int p = tail; p < count; p++)
        for (int c = 0; c < channels; c++) {
            float *dst = planar + (size_t)c * count + p;
            *dst = (accumulate ? *dst : 0.0f) + pt[(size_t)p * lanes + c];
        }
}

/* pt (count, lanes) <- planar (channels, count) transposed, zero in lanes
 * from channels on; sums[c] += sum_p planar[c][p] unless sums is NULL
 * (sums has lanes floats). */
NN_AVX2
static void to_pixel_major(const float *planar, int channels, int count,
                           int lanes, float *pt, float *sums)
{
    int p = 0;
    for (; p + 8 <= count; p += 8)
        for (int c0 = 0; c0 < lanes; c0 += 8) {
            __m256 r[8], sum;
            for (int i = 0; i < 8; i++)
                r[i] = c0 + i < channels
                           ? _mm256_loadu_ps(planar + (size_t)(c0 + i) * count + p)
                           : _mm256_setzero_ps();
            nn_transpose_8x8(r); /* r[i]: pixel p + i, channels c0.. c0+8 */
            for (int i = 0; i < 8; i++)
                _mm256_storeu_ps(pt + (size_t)(p + i) * lanes + c0, r[i]);
            if (!sums)
                continue;
            sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(r[0], r[1]),
                                              _mm256_add_ps(r[2], r[3])),
                                _mm256_add_ps(_mm256_add_ps(r[4], r[5]),
                                              _mm256_add_ps(r[6], r[7])));
            _mm256_storeu_ps(sums + c0,
                             _mm256_add_ps(_mm256_loadu_ps(sums + c0), sum));
        }
    for (; p < count; p++)
        for (int c = 0; c < lanes; c++) {
            float v = c < channels ? planar[(size_t)c * count + p] : 0.0f;
            pt[(size_t)p * lanes + c] = v;
            if (sums)
                sums[c] += v;
        }
}

/* The 12 accumulators of a tile, named so that they stay in registers:
 * pair j is (acc[2j], acc[2j+1]) for j < pairs (5 or 6). With vecs 2 it
 * holds item j (a pixel or a tap) for 16 channels; with vecs 1, items j and
 * j + pairs for 8 channels. */
#define TILE_DECLARE                                                        \
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0,            \
           acc3 = acc0, acc4 = acc0, acc5 = acc0, acc6 = acc0, acc7 = acc0, \
           acc8 = acc0, acc9 = acc0, acc10 = acc0, acc11 = acc0
#define TILE_PAIRS(X)                                                       \
    X(0, acc0, acc1) X(1, acc2, acc3) X(2, acc4, acc5) X(3, acc6, acc7)     \
    X(4, acc8, acc9) if (pairs > 5) { X(5, acc10, acc11) }

/* Pair j loaded from its item's floats from[j] (vecs 2: 16 of them; vecs 1:
 * 8, and 8 more at from[j + pairs]), and stored to to[j] likewise. */
#define TILE_LOAD(j, a0, a1)                                                \
    a0 = _mm256_loadu_ps(from[j]);                                          \
    a1 = _mm256_loadu_ps(vecs == 2 ? from[j] + 8 : from[j + pairs]);
#define TILE_STORE(j, a0, a1)                                               \
    _mm256_storeu_ps(to[j], a0);                                            \
    _mm256_storeu_ps(vecs == 2 ? to[j] + 8 : to[j + pairs], a1);

/* One multiply-add step of pair j: the inputs of its item(s) at offset
 * `at` from their own start, times the vector(s) v0 (v1). */
#define TILE_FMA(j, a0, a1)                                                 \
    if (vecs == 2) {                                                        \
        __m256 xj = _mm256_broadcast_ss(at + start[j]);                     \
        a0 = _mm256_fmadd_ps(xj, v0, a0);                                   \
        a1 = _mm256_fmadd_ps(xj, v1, a1);                                   \
    } else {                                                                \
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(at + start[j]), v0, a0);   \
        a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(at + start[j + pairs]),    \
                             v0, a1);                                       \
    }

/* out[p][lane0 .. lane0 + 8 vecs) = init + sum over taps of in[p + tap] w[tap]
 * for the 12 / vecs pixels first, first + 1, ... (clamped to the last
 * pixel: the tile at the end recomputes it, and writes the same bits).
 * The core of both convolutions; vecs is 1 or 2, a constant once inlined,
 * and the 12 accumulators, 1 or 2 weight vectors and the broadcast input
 * use 15 of the 16 ymm registers. */
NN_AVX2_INLINE void conv_tile(const direct_geom *g, const float *in,
                              const float *w, const float *init, float *out,
                              int first, int lane0, const int vecs)
{
    const int pairs = 6, count = TILE_ACCS / vecs;
    int last = g->out_h * g->out_w - 1, oy = first / g->out_w,
        ox = first % g->out_w;
    static const float zeros[16];
    size_t plane = plane_floats(g);
    ptrdiff_t start[TILE_ACCS]; /* each pixel's top-left input in `in` */
    const float *from[TILE_ACCS];
    float *to[TILE_ACCS];
    TILE_DECLARE;
    for (int j = 0; j < count; j++) {
        int p = first + j < last ? first + j : last;
        start[j] = (ptrdiff_t)oy * g->cols + ox;
        to[j] = out + (size_t)p * g->lanes + lane0;
        from[j] = init ? init + lane0 : zeros;
        if (p < last && ++ox == g->out_w) { /* next pixel, not past last */
            ox = 0;
            oy++;
        }
    }
    TILE_PAIRS(TILE_LOAD)
    w += lane0;
    for (int c = 0; c < g->planes; c++)
        for (int ki = 0; ki < g->kh; ki++) {
            const float *at = in + c * plane + (size_t)ki * g->cols;
            for (int kj = 0; kj < g->kw; kj++, at++, w += g->lanes) {
                __m256 v0 = _mm256_loadu_ps(w), v1 = v0;
                if (vecs == 2)
                    v1 = _mm256_loadu_ps(w + 8);
                TILE_PAIRS(TILE_FMA)
            }
        }
    TILE_PAIRS(TILE_STORE)
}

NN_AVX2
static void conv_tile_16(const direct_geom *g, const float *in, const float *w,
                         const float *init, float *out, int first, int lane0)
{
    conv_tile(g, in, w, init, out, first, lane0, 2);
}

NN_AVX2
static void conv_tile_8(const direct_geom *g, const float *in, const float *w,
                        const float *init, float *out, int first, int lane0)
{
    conv_tile(g, in, w, init, out, first, lane0, 1);
}

/* out (out_h*out_w, lanes) = init + in (*) w: in (planes, rows, cols),
 * w (planes*kh*kw, lanes), init (lanes) or NULL for zeros; only the lanes
 * from lane0 on (a multiple of 8). */
static void direct_conv(const direct_geom *g, const float *in, const float *w,
                        const float *init, float *out, int lane0)
{
    int count = g->out_h * g->out_w;
    for (; lane0 + 16 <= g->lanes; lane0 += 16)
        for (int p = 0; p < count; p += TILE_ACCS / 2)
            conv_tile_16(g, in, w, init, out, p, lane0);
    if (lane0 < g->lanes)
        for (int p = 0; p < count; p += TILE_ACCS)
            conv_tile_8(g, in, w, init, out, p, lane0);
}

/* Few output channels: out[c][q] = sum over taps of in[q + tap] w[tap][c]
 * for q = oy * cols + ox, where ox runs over all `cols` columns (those
 * from out_w on are thrown away), 8 q per vector. A tile covers
 * rows_vectors(channels) vectors of q for each channel, 12 accumulators
 * (8 for 4 channels, whose 4 weight broadcasts would not leave registers
 * for 12): per tap, one load per vector and one broadcast per channel. A
 * valid q only reads its own rows; the others may read past a plane's end,
 * into the next plane or the slack after the last. */
#define rows_vectors(channels) ((channels) == 4 ? 2 : 12 / (channels))
#define ROWS_ACCS(X)                                                        \
    X(0, acc0) X(1, acc1) X(2, acc2) X(3, acc3) X(4, acc4) X(5, acc5)       \
    X(6, acc6) X(7, acc7) X(8, acc8) X(9, acc9) X(10, acc10) X(11, acc11)
/* accumulator k: channel k % channels, vector k / channels */
#define ROWS_FMA(k, a)                                                      \
    if ((k) < accs)                                                         \
        a = _mm256_fmadd_ps(_mm256_loadu_ps(at + 8 * ((k) / channels)),     \
                            wb[(k) % channels], a);
#define ROWS_STORE(k, a)                                                    \
    if ((k) < accs)                                                         \
        _mm256_storeu_ps(out + (k) % channels * span + q0 +                 \
                             8 * ((k) / channels),                          \
                         a);

NN_AVX2_INLINE void rows_tile(const direct_geom *g, const float *in,
                              const float *w, float *out, size_t span,
                              int q0, const int channels)
{
    const int accs = rows_vectors(channels) * channels;
    size_t plane = plane_floats(g);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0,
           acc4 = acc0, acc5 = acc0, acc6 = acc0, acc7 = acc0, acc8 = acc0,
           acc9 = acc0, acc10 = acc0, acc11 = acc0;
    for (int o = 0; o < g->planes; o++)
        for (int ki = 0; ki < g->kh; ki++) {
            const float *at = in + o * plane + (size_t)ki * g->cols + q0;
            for (int kj = 0; kj < g->kw; kj++, at++, w += g->lanes) {
                __m256 wb[ROWS_MAX_CHANNELS];
                for (int c = 0; c < channels; c++)
                    wb[c] = _mm256_broadcast_ss(w + c);
                ROWS_ACCS(ROWS_FMA)
            }
        }
    ROWS_ACCS(ROWS_STORE)
}

#define DEFINE_ROWS_TILE(channels)                                          \
    NN_AVX2 static void rows_tile_##channels(const direct_geom *g,          \
                                             const float *in,               \
                                             const float *w, float *out,    \
                                             size_t span, int q0)           \
    {                                                                       \
        rows_tile(g, in, w, out, span, q0, channels);                       \
    }
DEFINE_ROWS_TILE(1) DEFINE_ROWS_TILE(2) DEFINE_ROWS_TILE(3)
DEFINE_ROWS_TILE(4)

/* out (channels, row_span) = in (*) w for channels <= 4: in (planes, rows,
 * cols) followed by row_slack zeros, w (planes*kh*kw, lanes) with the
 * channels first in each row. */
static void conv_rows(const direct_geom *g, int channels, const float *in,
                      const float *w, float *out)
{
    size_t span = row_span(g);
    int step = 8 * rows_vectors(channels);
    for (int q0 = 0; q0 < (int)span; q0 += step)
        switch (channels) {
        case 1: rows_tile_1(g, in, w, out, span, q0); break;
        case 2: rows_tile_2(g, in, w, out, span, q0); break;
        case 3: rows_tile_3(g, in, w, out, span, q0); break;
        default: rows_tile_4(g, in, w, out, span, q0); break;
        }
}

/* dwt[t][lane0 .. lane0 + 8 vecs) += sum_p in[p + t] dyt[p][lane0 ..]
 * for the pairs * (3 - vecs) taps first, first + 1, ... (clamped to the
 * last tap: both copies load, sum and store the same values). */
NN_AVX2_INLINE void grad_tile(const direct_geom *g, const float *in,
                              const float *dyt, float *dwt, int first,
                              int lane0, const int vecs, const int pairs)
{
    const int count = pairs * (3 - vecs), last = (int)taps(g) - 1;
    const int area = g->kh * g->kw;
    ptrdiff_t start[TILE_ACCS]; /* each tap's input for pixel 0 in `in` */
    const float *from[TILE_ACCS];
    float *to[TILE_ACCS];
    TILE_DECLARE;
    for (int j = 0; j < count; j++) {
        int t = first + j < last ? first + j : last;
        int c = t / area, ki = t % area / g->kw, kj = t % g->kw;
        start[j] = (ptrdiff_t)(c * plane_floats(g) + (size_t)ki * g->cols + kj);
        to[j] = dwt + (size_t)t * g->lanes + lane0;
        from[j] = to[j];
    }
    TILE_PAIRS(TILE_LOAD)
    dyt += lane0;
    for (int oy = 0; oy < g->out_h; oy++) {
        const float *at = in + (size_t)oy * g->cols;
        for (int ox = 0; ox < g->out_w; ox++, at++, dyt += g->lanes) {
            __m256 v0 = _mm256_loadu_ps(dyt), v1 = v0;
            if (vecs == 2)
                v1 = _mm256_loadu_ps(dyt + 8);
            TILE_PAIRS(TILE_FMA)
        }
    }
    TILE_PAIRS(TILE_STORE)
}

/* The tiles of 6 (or 5) taps x 16 channels, and of 12 (10) x 8. */
#define DEFINE_GRAD_TILE(name, vecs, pairs)                                     NN_AVX2 static void name(const direct_geom *g, const float *in,                                      const float *dyt, float *dwt, int first,                                    int lane0)                                         {                                                                               grad_tile(g, in, dyt, dwt, first, lane0, vecs, pairs);                  }
DEFINE_GRAD_TILE(grad_tile_6x16, 2, 6)
DEFINE_GRAD_TILE(grad_tile_5x16, 2, 5)
DEFINE_GRAD_TILE(grad_tile_12x8, 1, 6)
DEFINE_GRAD_TILE(grad_tile_10x8, 1, 5)

typedef void (*grad_tile_fn)(const direct_geom *g, const float *in,
                             const float *dyt, float *dwt, int first,
                             int lane0);

/* dwt (planes*kh*kw, lanes) += in (*) dyt, the weight gradient of one image:
 * in (planes, rows, cols), dyt (out_h*out_w, lanes); only the lanes from
 * lane0 on (a multiple of 8). */
static void direct_weight_grad(const direct_geom *g, const float *in,
                               const float *dyt, float *dwt, int lane0)
{
    int count = (int)taps(g);
    /* tiles of 5 taps when 6 would waste 5 % more (25 taps: 5 x 5, not
     * 5 x 6); else 6, which load fewer vectors per multiply-add */
    int fives = ((count + 5) / 6 * 6 - (count + 4) / 5 * 5) * 20 > count;
    grad_tile_fn wide = fives ? grad_tile_5x16 : grad_tile_6x16;
    grad_tile_fn narrow = fives ? grad_tile_10x8 : grad_tile_12x8;
    int step = fives ? 5 : 6;
    for (; lane0 + 16 <= g->lanes; lane0 += 16)
        for (int t = 0; t < count; t += step)
            wide(g, in, dyt, dwt, t, lane0);
    if (lane0 < g->lanes)
        for (int t = 0; t < count; t += 2 * step)
            narrow(g, in, dyt, dwt, t, lane0);
}

/* The AVX-512 tiles: 16 output channels per zmm, 32 registers. Each output
 * value gets the same products added in the same order, one FMA each, from
 * the same starting value as in the AVX2 tiles above, so the two give the
 * same bits; only which values share a tile changes. What they do not take
 * (8-lane tails, rows narrower than 4 pixels, kernels other than 3 or 5
 * wide, and conv_rows) runs the AVX2 tiles. */

/* A function compiled for AVX-512F (with AVX2 + FMA); called only when
 * nn_cpu_has_avx512(). GCC's predictive commoning would carry the inputs
 * shared by neighbouring taps from one step to the next in registers the
 * accumulators need (dW of 5x5 kernels: 1.45x instead of 1.8x AVX2's
 * speed); the values and their order are the same either way. */
#if defined(__clang__)
#define NN_AVX512_ATTRS target("avx512f,avx2,fma")
#else
#define NN_AVX512_ATTRS                                                     \
    target("avx512f,avx2,fma"), optimize("no-predictive-commoning")
#endif
#define NN_AVX512 __attribute__((NN_AVX512_ATTRS))
#define NN_AVX512_INLINE                                                    \
    __attribute__((NN_AVX512_ATTRS, always_inline)) static inline

/* Forward tiles: `width` (4 to 12) neighbouring pixels of one output row
 * (vecs 2: 32 channels) or of two rows (vecs 1: 16 channels); at most 24
 * accumulators, so that they, the weight vectors and a broadcast fit the
 * 32 zmm registers. */
#define TILE512_MIN_WIDTH 4
#define TILE512_MAX_WIDTH 12

/* out[p][lane0 .. lane0 + 16 vecs) = init + sum over taps of in[p + tap] w[tap]
 * for the pixels p = (oy + r, ox + j), r < 3 - vecs, j < width; rows past
 * the last are clamped to it (recomputed, the same bits written twice).
 * Per tap: vecs weight loads, one broadcast per pixel, width * 2 FMAs. */
NN_AVX512_INLINE void conv_tile512(const direct_geom *g, const float *in,
                                   const float *w, const float *init,
                                   float *out, int oy, int ox, int lane0,
                                   const int vecs, const int width)
{
    const int rows = 3 - vecs;
    size_t plane = plane_floats(g);
    const float *base[2]; /* each row's top-left input, pixel ox */
    float *to[2];         /* each row's output, pixel ox */
    __m512 acc[2][TILE512_MAX_WIDTH][2], first[2];
    for (int r = 0; r < rows; r++) {
        int y = oy + r < g->out_h ? oy + r : g->out_h - 1;
        base[r] = in + (size_t)y * g->cols + ox;
        to[r] = out + ((size_t)y * g->out_w + ox) * g->lanes + lane0;
    }
    for (int v = 0; v < vecs; v++)
        first[v] = init ? _mm512_loadu_ps(init + lane0 + 16 * v)
                        : _mm512_setzero_ps();
#pragma GCC unroll 24
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 12
        for (int j = 0; j < width; j++)
#pragma GCC unroll 2
            for (int v = 0; v < vecs; v++)
                acc[r][j][v] = first[v];
    w += lane0;
    for (int c = 0; c < g->planes; c++)
        for (int ki = 0; ki < g->kh; ki++) {
            size_t at = c * plane + (size_t)ki * g->cols;
            for (int kj = 0; kj < g->kw; kj++, at++, w += g->lanes) {
                __m512 w0 = _mm512_loadu_ps(w), w1 = w0;
                if (vecs == 2)
                    w1 = _mm512_loadu_ps(w + 16);
#pragma GCC unroll 2
                for (int r = 0; r < rows; r++)
#pragma GCC unroll 12
                    for (int j = 0; j < width; j++) {
                        __m512 x = _mm512_set1_ps(base[r][at + j]);
                        acc[r][j][0] = _mm512_fmadd_ps(x, w0, acc[r][j][0]);
                        if (vecs == 2)
                            acc[r][j][1] = _mm512_fmadd_ps(x, w1, acc[r][j][1]);
                    }
            }
        }
#pragma GCC unroll 2
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 12
        for (int j = 0; j < width; j++)
#pragma GCC unroll 2
            for (int v = 0; v < vecs; v++)
                _mm512_storeu_ps(to[r] + (size_t)j * g->lanes + 16 * v,
                                 acc[r][j][v]);
}

typedef void (*conv_tile512_fn)(const direct_geom *g, const float *in,
                                const float *w, const float *init,
                                float *out, int oy, int ox, int lane0);

#define DEFINE_CONV_TILE512(vecs, width)                                    \
    NN_AVX512 static void conv_tile512_##vecs##_##width(                    \
        const direct_geom *g, const float *in, const float *w,              \
        const float *init, float *out, int oy, int ox, int lane0)           \
    {                                                                       \
        conv_tile512(g, in, w, init, out, oy, ox, lane0, vecs, width);      \
    }
#define DEFINE_CONV_TILES512(vecs)                                          \
    DEFINE_CONV_TILE512(vecs, 4) DEFINE_CONV_TILE512(vecs, 5)               \
    DEFINE_CONV_TILE512(vecs, 6) DEFINE_CONV_TILE512(vecs, 7)               \
    DEFINE_CONV_TILE512(vecs, 8) DEFINE_CONV_TILE512(vecs, 9)               \
    DEFINE_CONV_TILE512(vecs, 10) DEFINE_CONV_TILE512(vecs, 11)             \
    DEFINE_CONV_TILE512(vecs, 12)
DEFINE_CONV_TILES512(1)
DEFINE_CONV_TILES512(2)

/* [vecs - 1][width - TILE512_MIN_WIDTH] */
static const conv_tile512_fn conv_tiles512[2][9] = {
    {conv_tile512_1_4, conv_tile512_1_5, conv_tile512_1_6, conv_tile512_1_7,
     conv_tile512_1_8, conv_tile512_1_9, conv_tile512_1_10,
     conv_tile512_1_11, conv_tile512_1_12},
    {conv_tile512_2_4, conv_tile512_2_5, conv_tile512_2_6, conv_tile512_2_7,
     conv_tile512_2_8, conv_tile512_2_9, conv_tile512_2_10,
     conv_tile512_2_11, conv_tile512_2_12}};

/* direct_conv with AVX-512 tiles: blocks of 32 lanes one output row at a
 * time, then of 16 two rows at a time, each row cut into the fewest equal
 * segments of at most 12 pixels (the last moved back to end at the row's
 * end: overlapping pixels get the same bits twice); an 8-lane tail, and
 * rows narrower than 4 pixels, take the AVX2 tiles. */
static void direct_conv512(const direct_geom *g, const float *in,
                           const float *w, const float *init, float *out)
{
    int segments = (g->out_w + TILE512_MAX_WIDTH - 1) / TILE512_MAX_WIDTH;
    int width = (g->out_w + segments - 1) / segments, lane0 = 0;
    if (width < TILE512_MIN_WIDTH) {
        direct_conv(g, in, w, init, out, 0);
        return;
    }
    for (int vecs = 2; vecs >= 1; vecs--) {
        conv_tile512_fn tile = conv_tiles512[vecs - 1][width - TILE512_MIN_WIDTH];
        for (; lane0 + 16 * vecs <= g->lanes; lane0 += 16 * vecs)
            for (int oy = 0; oy < g->out_h; oy += 3 - vecs)
                for (int k = 0; k < segments; k++) {
                    int ox = k * width < g->out_w - width ? k * width
                                                          : g->out_w - width;
                    tile(g, in, w, init, out, oy, ox, lane0);
                }
    }
    if (lane0 < g->lanes)
        direct_conv(g, in, w, init, out, lane0);
}

/* Weight-gradient tiles: every tap of `rows` kernel rows (c, ki) of a
 * kernel kw = 3 or 5 wide, for 32 channels (vecs 2) or 16 (vecs 1); at
 * most 25 accumulators. */
#define GRAD512_MAX_ROWS 8

/* dwt[t][lane0 .. lane0 + 16 vecs) += sum_p in[p + t] dyt[p][lane0 ..]
 * for the taps t of the kernel rows first .. first + rows - 1 (clamped to
 * the last: both copies load, sum and store the same values), the pixels
 * p in order. Per pixel: vecs loads of dy, one broadcast per tap. */
NN_AVX512_INLINE void grad_tile512(const direct_geom *g, const float *in,
                                   const float *dyt, float *dwt, int first,
                                   int lane0, const int vecs, const int rows,
                                   const int kw)
{
    int last = g->planes * g->kh - 1;
    const float *base[GRAD512_MAX_ROWS]; /* each row's tap 0 for pixel 0 */
    float *to[GRAD512_MAX_ROWS];         /* each row's tap 0 in dwt */
    __m512 acc[GRAD512_MAX_ROWS][5][2];
    for (int r = 0; r < rows; r++) {
        int row = first + r < last ? first + r : last;
        int c = row / g->kh, ki = row % g->kh;
        base[r] = in + c * plane_floats(g) + (size_t)ki * g->cols;
        to[r] = dwt + (size_t)row * kw * g->lanes + lane0;
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 5
        for (int j = 0; j < kw; j++)
#pragma GCC unroll 2
            for (int v = 0; v < vecs; v++)
                acc[r][j][v] =
                    _mm512_loadu_ps(to[r] + (size_t)j * g->lanes + 16 * v);
    dyt += lane0;
    for (int oy = 0; oy < g->out_h; oy++) {
        size_t at = (size_t)oy * g->cols;
        for (int ox = 0; ox < g->out_w; ox++, at++, dyt += g->lanes) {
            __m512 d0 = _mm512_loadu_ps(dyt), d1 = d0;
            if (vecs == 2)
                d1 = _mm512_loadu_ps(dyt + 16);
#pragma GCC unroll 8
            for (int r = 0; r < rows; r++)
#pragma GCC unroll 5
                for (int j = 0; j < kw; j++) {
                    __m512 x = _mm512_set1_ps(base[r][at + j]);
                    acc[r][j][0] = _mm512_fmadd_ps(x, d0, acc[r][j][0]);
                    if (vecs == 2)
                        acc[r][j][1] = _mm512_fmadd_ps(x, d1, acc[r][j][1]);
                }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < rows; r++)
#pragma GCC unroll 5
        for (int j = 0; j < kw; j++)
#pragma GCC unroll 2
            for (int v = 0; v < vecs; v++)
                _mm512_storeu_ps(to[r] + (size_t)j * g->lanes + 16 * v,
                                 acc[r][j][v]);
}

typedef void (*grad_tile512_fn)(const direct_geom *g, const float *in,
                                const float *dyt, float *dwt, int first,
                                int lane0);

#define DEFINE_GRAD_TILE512(kw, vecs, rows)                                 \
    NN_AVX512 static void grad_tile512_##kw##_##vecs##_##rows(              \
        const direct_geom *g, const float *in, const float *dyt,            \
        float *dwt, int first, int lane0)                                   \
    {                                                                       \
        grad_tile512(g, in, dyt, dwt, first, lane0, vecs, rows, kw);        \
    }
/* kw 3: up to 8 rows (24 taps) x 16 lanes, 4 rows x 32; kw 5: up to 5
 * rows (25 taps) x 16 lanes, 2 rows x 32 */
DEFINE_GRAD_TILE512(3, 1, 1) DEFINE_GRAD_TILE512(3, 1, 2)
DEFINE_GRAD_TILE512(3, 1, 3) DEFINE_GRAD_TILE512(3, 1, 4)
DEFINE_GRAD_TILE512(3, 1, 5) DEFINE_GRAD_TILE512(3, 1, 6)
DEFINE_GRAD_TILE512(3, 1, 7) DEFINE_GRAD_TILE512(3, 1, 8)
DEFINE_GRAD_TILE512(3, 2, 1) DEFINE_GRAD_TILE512(3, 2, 2)
DEFINE_GRAD_TILE512(3, 2, 3) DEFINE_GRAD_TILE512(3, 2, 4)
DEFINE_GRAD_TILE512(5, 1, 1) DEFINE_GRAD_TILE512(5, 1, 2)
DEFINE_GRAD_TILE512(5, 1, 3) DEFINE_GRAD_TILE512(5, 1, 4)
DEFINE_GRAD_TILE512(5, 1, 5)
DEFINE_GRAD_TILE512(5, 2, 1) DEFINE_GRAD_TILE512(5, 2, 2)

/* [kw == 5][vecs - 1][rows - 1], NULL past each kind's most rows */
static const grad_tile512_fn grad_tiles512[2][2][GRAD512_MAX_ROWS] = {
    {{grad_tile512_3_1_1, grad_tile512_3_1_2, grad_tile512_3_1_3,
      grad_tile512_3_1_4, grad_tile512_3_1_5, grad_tile512_3_1_6,
      grad_tile512_3_1_7, grad_tile512_3_1_8},
     {grad_tile512_3_2_1, grad_tile512_3_2_2, grad_tile512_3_2_3,
      grad_tile512_3_2_4, NULL, NULL, NULL, NULL}},
    {{grad_tile512_5_1_1, grad_tile512_5_1_2, grad_tile512_5_1_3,
      grad_tile512_5_1_4, grad_tile512_5_1_5, NULL, NULL, NULL},
     {grad_tile512_5_2_1, grad_tile512_5_2_2, NULL, NULL, NULL, NULL, NULL,
      NULL}}};

/* direct_weight_grad with AVX-512 tiles: blocks of 32 lanes, then of 16,
 * the planes * kh kernel rows cut into the fewest equal tiles of at most
 * the most rows a tile takes; an 8-lane tail, and kernels other than 3 or
 * 5 wide, take the AVX2 tiles. */
static void direct_weight_grad512(const direct_geom *g, const float *in,
                                  const float *dyt, float *dwt)
{
    int kernel_rows = g->planes * g->kh, lane0 = 0;
    if (g->kw != 3 && g->kw != 5) {
        direct_weight_grad(g, in, dyt, dwt, 0);
        return;
    }
    for (int vecs = 2; vecs >= 1; vecs--) {
        const grad_tile512_fn *kind = grad_tiles512[g->kw == 5][vecs - 1];
        int most = 0, tiles, rows;
        while (most < GRAD512_MAX_ROWS && kind[most])
            most++;
        tiles = (kernel_rows + most - 1) / most;
        rows = (kernel_rows + tiles - 1) / tiles;
        for (; lane0 + 16 * vecs <= g->lanes; lane0 += 16 * vecs)
            for (int first = 0; first < kernel_rows; first += rows)
                kind[rows - 1](g, in, dyt, dwt, first, lane0);
    }
    if (lane0 < g->lanes)
        direct_weight_grad(g, in, dyt, dwt, lane0);
}

/* y (n, out_c, out_h, out_w) = conv(x) + b, image by image: x padded into
 * scratch, convolved into yt (pixels, lanes), transposed into y. */
void nn_conv_direct_forward_with(const nn_conv2d_shape *s, const float *x,
                                 const float *w, const float *b, float *y,
                                 float *scratch, int n, int avx512)
{
    direct_geom g = forward_geom(s);
    direct_scratch sc;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    carve(s, 0, scratch, &sc);
    /* weights (in_c*kh*kw, lanes): weights[(c,ki,kj)][o] = W[o][c][ki][kj] */
    to_pixel_major(w, s->out_c, (int)taps(&g), g.lanes, sc.weights, NULL);
    memset(sc.bias, 0, sizeof(float) * g.lanes);
    memcpy(sc.bias, b, sizeof(float) * s->out_c);
    for (int i = 0; i < n; i++) {
        pad_planes(x + i * in_size, s->in_c, s->in_h, s->in_w, s->pad, s->pad,
                   g.rows, g.cols, sc.in);
        if (avx512)
            direct_conv512(&g, sc.in, sc.weights, sc.bias, sc.out);
        else
            direct_conv(&g, sc.in, sc.weights, sc.bias, sc.out, 0);
        to_planar(sc.out, g.lanes, (int)pixels(&g), s->out_c,
                  y + i * out_size, 0);
    }
}

/* dw += dy (*) x and db += sum dy, summed over the n images in scratch
 * (dWt, pixel-major) and added once at the end; dx += the convolution of
 * padded dy with the turned weights, image by image. */
void nn_conv_direct_backward_with(const nn_conv2d_shape *s, const float *x,
                                  const float *w, const float *dy, float *dx,
                                  float *dw, float *db, float *scratch, int n,
                                  int avx512)
{
    direct_geom f = forward_geom(s), d = input_grad_geom(s);
    direct_scratch sc;
    size_t area = (size_t)s->kh * s->kw, in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    int count = (int)pixels(&f);
    carve(s, 1, scratch, &sc);
    if (dx) {
        /* turned weights (out_c*kh*kw, in lanes):
         * weights[(o,ki,kj)][c] = W[o][c][kh-1-ki][kw-1-kj] */
        memset(sc.weights, 0, sizeof(float) * taps(&d) * d.lanes);
        for (int o = 0; o < s->out_c; o++)
            for (int c = 0; c < s->in_c; c++)
                for (size_t k = 0; k < area; k++)
                    sc.weights[(o * area + area - 1 - k) * d.lanes + c] =
                        w[(o * s->in_c + c) * area + k];
    }
    memset(sc.dwt, 0, sizeof(float) * taps(&f) * f.lanes);
    memset(sc.bias, 0, sizeof(float) * f.lanes);
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + i * out_size;
        pad_planes(x + i * in_size, s->in_c, s->in_h, s->in_w, s->pad, s->pad,
                   f.rows, f.cols, sc.xpad);
        to_pixel_major(dyi, s->out_c, count, f.lanes, sc.dyt, sc.bias);
        if (avx512)
            direct_weight_grad512(&f, sc.xpad, sc.dyt, sc.dwt);
        else
            direct_weight_grad(&f, sc.xpad, sc.dyt, sc.dwt, 0);
        if (!dx)
            continue;
        pad_planes(dyi, s->out_c, s->out_h, s->out_w, s->kh - 1 - s->pad,
                   s->kw - 1 - s->pad, d.rows, d.cols, sc.in);
        if (s->in_c > ROWS_MAX_CHANNELS) {
            if (avx512)
                direct_conv512(&d, sc.in, sc.weights, NULL, sc.out);
            else
                direct_conv(&d, sc.in, sc.weights, NULL, sc.out, 0);
            to_planar(sc.out, d.lanes, (int)pixels(&d), s->in_c,
                      dx + i * in_size, 1);
            continue;
        }
        memset(sc.in + plane_floats(&d) * d.planes, 0,
               sizeof(float) * row_slack(&d));
        conv_rows(&d, s->in_c, sc.in, sc.weights, sc.out);
        for (int c = 0; c < s->in_c; c++)
            for (int iy = 0; iy < s->in_h; iy++) {
                const float *src = sc.out + c * row_span(&d) + (size_t)iy * d.cols;
                float *dst = dx + i * in_size + ((size_t)c * s->in_h + iy) * s->in_w;
                for (int ix = 0; ix < s->in_w; ix++)
                    dst[ix] += src[ix];
            }
    }
    for (int o = 0; o < s->out_c; o++) {
        for (size_t t = 0; t < taps(&f); t++)
            dw[o * taps(&f) + t] += sc.dwt[t * f.lanes + o];
        db[o] += sc.bias[o];
    }
}

void nn_conv_direct_forward(const nn_conv2d_shape *s, const float *x,
                            const float *w, const float *b, float *y,
                            float *scratch, int n)
{
    nn_conv_direct_forward_with(s, x, w, b, y, scratch, n,
                                nn_cpu_has_avx512());
}

void nn_conv_direct_backward(const nn_conv2d_shape *s, const float *x,
                             const float *w, const float *dy, float *dx,
                             float *dw, float *db, float *scratch, int n)
{
    nn_conv_direct_backward_with(s, x, w, dy, dx, dw, db, scratch, n,
                                 nn_cpu_has_avx512());
}

#else /* not x86-64: the layer never picks these */

int nn_conv_direct_fits(const nn_conv2d_shape *s)
{
    (void)s;
    return 0;
}

size_t nn_conv_direct_scratch(const nn_conv2d_shape *s)
{
    (void)s;
    return 0;
}

/* Never called here: nn_conv_direct_fits takes no shape on this
 * architecture, so the layer runs Winograd or im2col instead. */
void nn_conv_direct_forward(const nn_conv2d_shape *s, const float *x,
                            const float *w, const float *b, float *y,
                            float *scratch, int n)
{
    (void)s, (void)x, (void)w, (void)b, (void)y, (void)scratch, (void)n;
}

void nn_conv_direct_backward(const nn_conv2d_shape *s, const float *x,
                             const float *w, const float *dy, float *dx,
                             float *dw, float *db, float *scratch, int n)
{
    (void)s, (void)x, (void)w, (void)dy, (void)dx, (void)dw, (void)db;
    (void)scratch, (void)n;
}

void nn_conv_direct_forward_with(const nn_conv2d_shape *s, const float *x,
                                 const float *w, const float *b, float *y,
                                 float *scratch, int n, int avx512)
{
    (void)s, (void)x, (void)w, (void)b, (void)y, (void)scratch, (void)n;
    (void)avx512;
}

void nn_conv_direct_backward_with(const nn_conv2d_shape *s, const float *x,
                                  const float *w, const float *dy, float *dx,
                                  float *dw, float *db, float *scratch, int n,
                                  int avx512)
{
    (void)s, (void)x, (void)w, (void)dy, (void)dx, (void)dw, (void)db;
    (void)scratch, (void)n, (void)avx512;
}

#endif
