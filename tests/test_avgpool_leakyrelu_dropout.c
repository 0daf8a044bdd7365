/* The average pooling, leaky relu and dropout kernels: central-difference
 * checks of every backward (L = sum(r * out) for a fixed random r),
 * accumulation, the 2 x 2 fast path against the definition, average
 * pooling's padding left out and ceil mode by hand, dropout's
 * counter-based masks; and RMSprop and AdamW steps computed by hand. */
#include "gradcheck.h"
#include "layers/layer.h"
#include "optim/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-3
#define EPS 1e-2f

/* sum r[i] y[i], in double: the scalar every check differentiates. */
static double project(const float *r, const float *y, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)r[i] * y[i];
    return sum;
}

/* Checks every coordinate of `analytic` against loss's central differences
 * in values, prints the outcome and requires a non-vacuous pass. */
static gc_result check(const char *what, gc_loss_fn loss, void *ctx,
                       float *values, const float *analytic, size_t n)
{
    nn_rng rng;
    gc_result r;
    nn_rng_seed(&rng, 7);
    r = gc_compare(loss, ctx, values, analytic, n, (int)n, &rng, EPS);
    print_message("  %-28s max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  what, r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, TOL));
    return r;
}

/* twice[i] = 2 once[i], up to rounding: backward accumulates. */
static void assert_doubled(const float *once, const float *twice, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_close(twice[i], 2.0 * once[i], 1e-6 * fmax(1.0, fabs(once[i])));
}

/* ------------------------------------------------------- average pooling */

typedef struct {
    int planes;
    nn_pool2d_shape s;
    float *x; /* (planes, in_h, in_w) */
    float *y; /* (planes, out_h, out_w) */
    float *r; /* (planes, out_h, out_w) projection, also used as dy */
} pool_case;

static size_t pool_in(const pool_case *c)
{
    return (size_t)c->planes * c->s.in_h * c->s.in_w;
}

static size_t pool_out(const pool_case *c)
{
    return (size_t)c->planes * c->s.out_h * c->s.out_w;
}

/* options: POOL_CEIL, POOL_EXCLUDE and POOL_WIDE (a window of k x (k + 1)),
 * or 0 */
enum { POOL_CEIL = 1, POOL_EXCLUDE = 2, POOL_WIDE = 4 };

static pool_case pool_make(int planes, int in_h, int in_w, int k, int stride,
                           int pad, int options, uint64_t seed)
{
    pool_case c = {planes,
                   {.in_h = in_h, .in_w = in_w, .kh = k,
                    .kw = options & POOL_WIDE ? k + 1 : k,
                    .stride = stride, .pad = pad,
                    .ceil_mode = (options & POOL_CEIL) != 0,
                    .exclude_pad = (options & POOL_EXCLUDE) != 0},
                   NULL, NULL, NULL};
    nn_rng rng;
    assert_nn_ok(nn_pool2d_shape_check(&c.s));
    c.x = malloc(sizeof(float) * pool_in(&c));
    c.y = malloc(sizeof(float) * pool_out(&c));
    c.r = malloc(sizeof(float) * pool_out(&c));
    assert_non_null(c.x);
    assert_non_null(c.y);
    assert_non_null(c.r);
    nn_rng_seed(&rng, seed);
    gc_fill_normal(c.x, pool_in(&c), 1.0f, &rng);
    gc_fill_normal(c.r, pool_out(&c), 1.0f, &rng);
    return c;
}

static void pool_free(pool_case *c)
{
    free(c->x);
    free(c->y);
    free(c->r);
}

static void avgpool_backward(const pool_case *c, float *dx)
{
    nn_avgpool_backward(&c->s, c->r, dx, c->planes);
}

static double avgpool_loss(void *p)
{
    pool_case *c = p;
    nn_avgpool_forward(&c->s, c->x, c->y, c->planes);
    return project(c->r, c->y, pool_out(c));
}

/* The gradient check, then backward twice doubles dx. */
static void avgpool_case(int k, int stride, int pad, int options)
{
    /* planes = N*C = 2*3 of 7 x 6: small, odd and not square. */
    pool_case c = pool_make(2 * 3, 7, 6, k, stride, pad, options,
                            100 + k * 10 + pad + 1000 * options);
    size_t n = pool_in(&c);
    float *once = calloc(n, sizeof(float)), *twice = calloc(n, sizeof(float));
    char what[64];
    assert_non_null(once);
    assert_non_null(twice);
    avgpool_backward(&c, once);
    snprintf(what, sizeof what, "avgpool k%d s%d p%d%s%s", k, stride, pad,
             options & POOL_CEIL ? " ceil" : "",
             options & POOL_EXCLUDE ? " excluded" : "");
    check(what, avgpool_loss, &c, c.x, once, n);
    avgpool_backward(&c, twice);
    avgpool_backward(&c, twice);
    assert_doubled(once, twice, n);
    free(once);
    free(twice);
    pool_free(&c);
}

static void test_avgpool_k3_s2_p1(void **state)
{
    (void)state;
    avgpool_case(3, 2, 1, 0);
}

static void test_avgpool_k2_s2_p0(void **state)
{
    (void)state;
    avgpool_case(2, 2, 0, 0);
}

static void test_avgpool_k3_s1_p1(void **state)
{
    (void)state;
    avgpool_case(3, 1, 1, 0);
}

/* The padding left out of the mean, ceil mode (7 x 6 with k 3 s 2 gives a
 * last window running past the input), and both. */
static void test_avgpool_excluded_padding_and_ceil_gradients(void **state)
{
    (void)state;
    avgpool_case(3, 2, 1, POOL_EXCLUDE);
    avgpool_case(3, 1, 2, POOL_EXCLUDE);
    avgpool_case(3, 2, 0, POOL_CEIL);
    avgpool_case(2, 2, 0, POOL_CEIL);
    avgpool_case(3, 2, 1, POOL_CEIL);
    avgpool_case(3, 2, 1, POOL_CEIL | POOL_EXCLUDE);
}

/* The divisor of the window at (oy, ox) by its definition: the positions
 * of the window inside the input (exclude_pad), or inside the padded input
 * [-pad, in + pad) (PyTorch's count_include_pad, clipped there in ceil
 * mode). */
static float reference_divisor(const nn_pool2d_shape *s, int oy, int ox)
{
    int inside = 0, padded = 0;
    for (int i = 0; i < s->kh; i++)
        for (int j = 0; j < s->kw; j++) {
            int ih = oy * s->stride - s->pad + i;
            int iw = ox * s->stride - s->pad + j;
            inside += ih >= 0 && ih < s->in_h && iw >= 0 && iw < s->in_w;
            padded += ih < s->in_h + s->pad && iw < s->in_w + s->pad;
        }
    return (float)(s->exclude_pad ? inside : padded);
}

/* The definition written out: each window's kh*kw positions in row-major
 * order, summed from 0 skipping those outside the input, divided by
 * reference_divisor: the order the general path sums in. */
static void reference_forward(const pool_case *c, float *y)
{
    const nn_pool2d_shape *s = &c->s;
    for (int p = 0; p < c->planes; p++)
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                float sum = 0.0f;
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int ih = oy * s->stride - s->pad + i;
                        int iw = ox * s->stride - s->pad + j;
                        if (ih >= 0 && ih < s->in_h && iw >= 0 && iw < s->in_w)
                            sum += c->x[((size_t)p * s->in_h + ih) * s->in_w + iw];
                    }
                y[((size_t)p * s->out_h + oy) * s->out_w + ox] =
                    sum / reference_divisor(s, oy, ox);
            }
}

static void reference_backward(const pool_case *c, float *dx)
{
    const nn_pool2d_shape *s = &c->s;
    for (int p = 0; p < c->planes; p++)
        for (int oy = 0; oy < s->out_h; oy++)
            for (int ox = 0; ox < s->out_w; ox++) {
                float share = c->r[((size_t)p * s->out_h + oy) * s->out_w + ox] /
                              reference_divisor(s, oy, ox);
                for (int i = 0; i < s->kh; i++)
                    for (int j = 0; j < s->kw; j++) {
                        int ih = oy * s->stride - s->pad + i;
                        int iw = ox * s->stride - s->pad + j;
                        if (ih >= 0 && ih < s->in_h && iw >= 0 && iw < s->in_w)
                            dx[((size_t)p * s->in_h + ih) * s->in_w + iw] += share;
                    }
            }
}

/* Forward and backward equal the definition to the bit: the 2 x 2 stride 2
 * fast path (odd sizes leave a row or column out; 35 columns give vector
 * loops and a tail) and the general path, so the two paths agree; with the
 * padding counted or not, in floor and ceil mode, square and rectangular. */
static void test_avgpool_paths_match_definition(void **state)
{
    static const int shapes[][7] = {
        /* in_h, in_w, k, stride, pad, planes, options */
        {7, 6, 2, 2, 0, 6, 0},  {5, 7, 2, 2, 0, 3, 0}, {9, 35, 2, 2, 0, 4, 0},
        {2, 2, 2, 2, 0, 1, 0},  {7, 6, 3, 2, 1, 6, 0}, {8, 8, 2, 2, 1, 2, 0},
        {9, 35, 2, 1, 0, 2, 0}, {6, 9, 3, 3, 0, 2, 0},
        {7, 6, 3, 2, 1, 6, POOL_EXCLUDE}, {5, 7, 2, 2, 0, 3, POOL_CEIL},
        {9, 35, 2, 2, 0, 2, POOL_CEIL}, {6, 6, 3, 2, 1, 2, POOL_CEIL},
        {6, 8, 3, 2, 1, 2, POOL_CEIL | POOL_EXCLUDE},
        {8, 7, 4, 3, 2, 2, POOL_CEIL | POOL_EXCLUDE},
        {7, 6, 3, 2, 1, 2, POOL_CEIL | POOL_EXCLUDE | POOL_WIDE},
        {5, 9, 2, 1, 0, 3, POOL_WIDE},
    };
    (void)state;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const int *sh = shapes[i];
        pool_case c = pool_make(sh[5], sh[0], sh[1], sh[2], sh[3], sh[4], sh[6],
                                200 + i);
        size_t n_in = pool_in(&c), n_out = pool_out(&c);
        float *y = malloc(sizeof(float) * n_out);
        float *dx = malloc(sizeof(float) * n_in), *want = malloc(sizeof(float) * n_in);
        nn_rng rng;
        assert_non_null(y);
        assert_non_null(dx);
        assert_non_null(want);
        nn_avgpool_forward(&c.s, c.x, c.y, c.planes);
        reference_forward(&c, y);
        assert_memory_equal(c.y, y, sizeof(float) * n_out);
        nn_rng_seed(&rng, 300 + i); /* accumulate onto something */
        gc_fill_normal(dx, n_in, 1.0f, &rng);
        memcpy(want, dx, sizeof(float) * n_in);
        avgpool_backward(&c, dx);
        reference_backward(&c, want);
        assert_memory_equal(dx, want, sizeof(float) * n_in);
        free(y);
        free(dx);
        free(want);
        pool_free(&c);
    }
}

/* One plane of in x in ones pooled with window k, stride 2, padding pad
 * and options into y (4 x 4 at most); returns the shape. */
static nn_pool2d_shape pool_ones(int in, int k, int pad, int options, float *y)
{
    float x[36];
    nn_pool2d_shape s = {.in_h = in, .in_w = in, .kh = k, .kw = k,
                         .stride = 2, .pad = pad,
                         .ceil_mode = (options & POOL_CEIL) != 0,
                         .exclude_pad = (options & POOL_EXCLUDE) != 0};
    assert_true(in * in <= 36);
    for (int i = 0; i < in * in; i++)
        x[i] = 1.0f;
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_true(s.out_h * s.out_w <= 16);
    nn_avgpool_forward(&s, x, y, 1);
    return s;
}

/* Ones on 4 x 4, k 3 stride 2 pad 1: the windows hold 4, 6, 6 and 9 ones,
 * all divided by 9 (the padding counts); the padding gets no gradient.
 * With the padding excluded every mean is 1, and each window's share of
 * the gradient is dy over its ones. */
static void test_avgpool_padding_counts(void **state)
{
    float y[16], dy[4] = {9.0f, 9.0f, 9.0f, 9.0f}, dx[16] = {0};
    nn_pool2d_shape s;
    (void)state;
    s = pool_ones(4, 3, 1, 0, y);
    assert_int_equal(s.out_h, 2);
    assert_close(y[0], 4.0 / 9.0, 1e-7);
    assert_close(y[1], 6.0 / 9.0, 1e-7);
    assert_close(y[2], 6.0 / 9.0, 1e-7);
    assert_close(y[3], 1.0, 1e-7);
    /* Each input gets 1 per window holding it: rows and columns 0..1
     * are in the first window, 1..3 in the second. */
    nn_avgpool_backward(&s, dy, dx, 1);
    assert_close(dx[0], 1.0, 1e-6);  /* row 0, column 0: window (0, 0) */
    assert_close(dx[1], 2.0, 1e-6);  /* row 0, column 1: (0, 0), (0, 1) */
    assert_close(dx[2], 1.0, 1e-6);
    assert_close(dx[5], 4.0, 1e-6);  /* row 1, column 1: all four */
    assert_close(dx[10], 1.0, 1e-6); /* row 2, column 2: window (1, 1) */
    assert_close(dx[15], 1.0, 1e-6);

    s = pool_ones(4, 3, 1, POOL_EXCLUDE, y);
    for (int i = 0; i < 4; i++)
        assert_close(y[i], 1.0, 0.0);
    memset(dx, 0, sizeof dx);
    nn_avgpool_backward(&s, dy, dx, 1); /* shares 9/4, 9/6, 9/6, 9/9 */
    assert_close(dx[0], 9.0 / 4.0, 1e-6);
    assert_close(dx[1], 9.0 / 4.0 + 9.0 / 6.0, 1e-6);
    assert_close(dx[5], 9.0 / 4.0 + 2 * 9.0 / 6.0 + 1.0, 1e-6);
    assert_close(dx[15], 1.0, 1e-6);
}

/* Ceil mode, with PyTorch's numbers: ones on 6 x 6, k 3 s 2 p 1 give 4 x 4
 * outputs whose last window runs past the padded input; counted, its
 * divisor is clipped there: 4/9 at a corner, 2/6, 3/6 and 1/4 at the far edge
 * (avg_pool2d(ones(6, 6), 3, 2, 1, ceil_mode=True)); with the padding
 * excluded every mean is 1. And ONNX's test_averagepool_2d_ceil: 1..16 on
 * 4 x 4, k 3 s 2 gives 6, 7.5, 12, 13.5. */
static void test_avgpool_ceil_mode_by_hand(void **state)
{
    static const float counted[16] = {
        4 / 9.0f, 6 / 9.0f, 6 / 9.0f, 2 / 6.0f, 6 / 9.0f, 1, 1, 3 / 6.0f,
        6 / 9.0f, 1, 1, 3 / 6.0f, 2 / 6.0f, 3 / 6.0f, 3 / 6.0f, 1 / 4.0f};
    float y[16], x[16];
    nn_pool2d_shape s;
    (void)state;
    s = pool_ones(6, 3, 1, POOL_CEIL, y);
    assert_int_equal(s.out_h, 4);
    assert_int_equal(s.out_w, 4);
    for (int i = 0; i < 16; i++)
        assert_close(y[i], counted[i], 1e-7);
    s = pool_ones(6, 3, 1, POOL_CEIL | POOL_EXCLUDE, y);
    for (int i = 0; i < 16; i++)
        assert_close(y[i], 1.0, 0.0);
    s = (nn_pool2d_shape){.in_h = 4, .in_w = 4, .kh = 3, .kw = 3, .stride = 2,
                          .ceil_mode = 1};
    assert_nn_ok(nn_pool2d_shape_check(&s));
    assert_int_equal(s.out_h * s.out_w, 4);
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    nn_avgpool_forward(&s, x, y, 1);
    assert_close(y[0], 6.0, 1e-6);
    assert_close(y[1], 7.5, 1e-6);
    assert_close(y[2], 12.0, 1e-6);
    assert_close(y[3], 13.5, 1e-6);
}

/* Output sizes as PyTorch gives them (max_pool2d and avg_pool2d agree):
 * in ceil mode a last window that would start in the padding is dropped;
 * a padding of the window's size or more, or a window larger than the
 * padded input, is refused. */
static void test_pool_output_sizes(void **state)
{
    static const int cases[][6] = {
        /* in, k, stride, pad, ceil, out */
        {7, 3, 2, 1, 0, 4}, {7, 3, 2, 1, 1, 4}, {5, 2, 2, 1, 1, 3},
        {5, 1, 3, 0, 1, 2}, {4, 3, 2, 0, 1, 2}, {6, 3, 2, 1, 1, 4},
        {8, 3, 3, 1, 1, 3}, {6, 2, 2, 0, 1, 3}, {7, 2, 2, 0, 1, 4},
        {7, 2, 2, 0, 0, 3}, {28, 3, 1, 2, 0, 30},
    };
    nn_pool2d_shape s;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        s = (nn_pool2d_shape){.in_h = c[0], .in_w = c[0] + 1, .kh = c[1],
                              .kw = c[1], .stride = c[2], .pad = c[3],
                              .ceil_mode = c[4]};
        assert_nn_ok(nn_pool2d_shape_check(&s));
        assert_int_equal(s.out_h, c[5]);
    }
    s = (nn_pool2d_shape){.in_h = 5, .in_w = 5, .kh = 3, .kw = 3, .stride = 1,
                          .pad = 3};
    assert_int_equal(nn_pool2d_shape_check(&s), NN_EINVAL);
    s.pad = 0;
    s.in_h = 2;
    assert_int_equal(nn_pool2d_shape_check(&s), NN_ESHAPE);
    assert_int_equal(nn_pool2d_shape_check(NULL), NN_EINVAL);
}

/* A gradient with one entry 0.01 off is not passed. */
static void test_avgpool_wrong_gradient_caught(void **state)
{
    pool_case c = pool_make(2, 7, 6, 3, 2, 1, POOL_CEIL | POOL_EXCLUDE, 41);
    size_t n = pool_in(&c);
    float *dx = calloc(n, sizeof(float));
    nn_rng rng;
    gc_result r;
    (void)state;
    assert_non_null(dx);
    avgpool_backward(&c, dx);
    dx[17] += 0.01f;
    nn_rng_seed(&rng, 42);
    r = gc_compare(avgpool_loss, &c, c.x, dx, n, (int)n, &rng, EPS);
    print_message("  one entry off by 0.01: max error %.2e\n", r.max_error);
    assert_false(gc_passed(&r, TOL));
    free(dx);
    pool_free(&c);
}

/* ------------------------------------------------ global average pooling */

enum { GAP_PLANES = 2 * 3, GAP_HW = 5 * 3 };

typedef struct {
    float x[GAP_PLANES * GAP_HW], y[GAP_PLANES], r[GAP_PLANES];
} gap_ctx;

static double gap_loss(void *p)
{
    gap_ctx *c = p;
    nn_global_avgpool_forward(c->x, c->y, GAP_PLANES, GAP_HW);
    return project(c->r, c->y, GAP_PLANES);
}

static void test_global_avgpool(void **state)
{
    gap_ctx c;
    float once[GAP_PLANES * GAP_HW] = {0}, twice[GAP_PLANES * GAP_HW] = {0};
    float ramp[GAP_HW], mean;
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 51);
    gc_fill_normal(c.x, GAP_PLANES * GAP_HW, 1.0f, &rng);
    gc_fill_normal(c.r, GAP_PLANES, 1.0f, &rng);
    nn_global_avgpool_backward(c.r, once, GAP_PLANES, GAP_HW);
    check("global avgpool 5x3", gap_loss, &c, c.x, once, GAP_PLANES * GAP_HW);
    nn_global_avgpool_backward(c.r, twice, GAP_PLANES, GAP_HW);
    nn_global_avgpool_backward(c.r, twice, GAP_PLANES, GAP_HW);
    assert_doubled(once, twice, GAP_PLANES * GAP_HW);
    for (int i = 0; i < GAP_HW; i++)
        ramp[i] = (float)(i + 1);
    nn_global_avgpool_forward(ramp, &mean, 1, GAP_HW);
    assert_close(mean, (GAP_HW + 1) / 2.0, 1e-6);
}

/* ------------------------------------------------------------ leaky relu */

enum { LEAKY_N = 2 * 3 * 7 };
#define SLOPE 0.1f

typedef struct {
    float x[LEAKY_N], y[LEAKY_N], r[LEAKY_N];
} leaky_ctx;

static double leaky_loss(void *p)
{
    leaky_ctx *c = p;
    nn_leakyrelu_forward(c->x, c->y, LEAKY_N, SLOPE);
    return project(c->r, c->y, LEAKY_N);
}

static void test_leakyrelu(void **state)
{
    leaky_ctx c;
    float once[LEAKY_N] = {0}, twice[LEAKY_N] = {0};
    nn_rng rng;
    int negative = 0;
    (void)state;
    nn_rng_seed(&rng, 61);
    gc_fill_normal(c.x, LEAKY_N, 1.0f, &rng);
    for (int i = 0; i < LEAKY_N; i++) {
        if (fabsf(c.x[i]) < 0.05f) /* off the kink at 0 by 5 steps */
            c.x[i] += c.x[i] < 0.0f ? -0.1f : 0.1f;
        negative += c.x[i] < 0.0f;
    }
    assert_true(negative > LEAKY_N / 4 && negative < 3 * LEAKY_N / 4);
    gc_fill_normal(c.r, LEAKY_N, 1.0f, &rng);
    leaky_loss(&c);
    nn_leakyrelu_backward(c.y, c.r, once, LEAKY_N, SLOPE);
    check("leaky relu 0.1", leaky_loss, &c, c.x, once, LEAKY_N);
    nn_leakyrelu_backward(c.y, c.r, twice, LEAKY_N, SLOPE);
    nn_leakyrelu_backward(c.y, c.r, twice, LEAKY_N, SLOPE);
    assert_doubled(once, twice, LEAKY_N);
}

static void test_leakyrelu_values_and_nan(void **state)
{
    float x[4] = {NAN, -2.0f, 3.0f, -0.0f}, y[4];
    float dy[3] = {1.0f, 1.0f, 1.0f}, dx[3] = {0};
    (void)state;
    nn_leakyrelu_forward(x, y, 4, SLOPE);
    assert_true(isnan(y[0]));
    assert_close(y[1], -0.2, 1e-7);
    assert_close(y[2], 3.0, 0.0);
    assert_close(y[3], 0.0, 0.0);
    assert_true(signbit(y[3])); /* slope * -0 */
    nn_leakyrelu_backward(y + 1, dy, dx, 2, SLOPE);
    assert_close(dx[0], SLOPE, 0.0);
    assert_close(dx[1], 1.0, 0.0);
}

/* Forward and backward give the bits of the definitions written plainly,
 * x > 0 ? x : slope x and dy (y > 0 ? 1 : slope), for zeros of both signs,
 * infinities, subnormals and random values, at several slopes. */
static void test_leakyrelu_matches_definition(void **state)
{
    enum { N = 64 };
    static const float slopes[] = {0.1f, 0.01f, 0.3f, 1.0f};
    float x[N], y[N], dx[N], dy[N];
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 62);
    gc_fill_normal(x, N, 1.0f, &rng);
    gc_fill_normal(dy, N, 1.0f, &rng);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = INFINITY;
    x[3] = -INFINITY;
    x[4] = 1e-40f;
    x[5] = -1e-40f;
    x[6] = NAN;
    dy[7] = 0.0f;
    dy[8] = -0.0f;
    for (size_t k = 0; k < sizeof slopes / sizeof slopes[0]; k++) {
        float slope = slopes[k];
        nn_leakyrelu_forward(x, y, N, slope);
        memset(dx, 0, sizeof dx);
        nn_leakyrelu_backward(y, dy, dx, N, slope);
        for (int i = 0; i < N; i++) {
            float want_y = x[i] > 0.0f ? x[i] : slope * x[i];
            float want_dx = 0.0f + (y[i] > 0.0f ? dy[i] : slope * dy[i]);
            if (isnan(want_y))
                assert_true(isnan(y[i]));
            else
                assert_memory_equal(&y[i], &want_y, sizeof(float));
            assert_memory_equal(&dx[i], &want_dx, sizeof(float));
        }
    }
}

/* --------------------------------------------------------------- dropout */

enum { DROP_N = 100000 };

static uint8_t *mask_of(uint64_t key, size_t first, size_t count, float rate)
{
    uint8_t *mask = malloc(count ? count : 1);
    assert_non_null(mask);
    nn_dropout_mask(key, first, count, rate, mask);
    return mask;
}

/* Same (key, first, count), same mask; the mask of [0, n) is the masks of
 * [0, k) and [k, n) put together, for any k; only 0 and 1 appear. */
static void test_dropout_mask_is_split_independent(void **state)
{
    enum { N = 1000 };
    static const size_t cuts[] = {0, 1, 7, 500, 999, 1000};
    uint8_t *whole = mask_of(42, 0, N, 0.3f), *again = mask_of(42, 0, N, 0.3f);
    (void)state;
    assert_memory_equal(whole, again, N);
    for (int i = 0; i < N; i++)
        assert_true(whole[i] == 0 || whole[i] == 1);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        uint8_t *head = mask_of(42, 0, cuts[c], 0.3f);
        uint8_t *tail = mask_of(42, cuts[c], N - cuts[c], 0.3f);
        assert_memory_equal(whole, head, cuts[c]);
        assert_memory_equal(whole + cuts[c], tail, N - cuts[c]);
        free(head);
        free(tail);
    }
    /* A window that starts far into the pass: the same as its part of it. */
    free(again);
    again = mask_of(42, 300, 200, 0.3f);
    assert_memory_equal(whole + 300, again, 200);
    free(whole);
    free(again);
}

/* Another key (the next one, or one far off) gives another mask: at rate
 * 0.5 about half the elements differ. */
static void test_dropout_keys_differ(void **state)
{
    static const uint64_t others[] = {8, 6, 7 + 0x9e3779b97f4a7c15u, (uint64_t)7 << 40};
    uint8_t *base = mask_of(7, 0, DROP_N, 0.5f);
    (void)state;
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        uint8_t *other = mask_of(others[k], 0, DROP_N, 0.5f);
        /* ...and no shift of one by up to 4 elements matches the other. */
        for (int shift = 0; shift <= 4; shift++) {
            long differ = 0;
            for (int i = 0; i + shift < DROP_N; i++)
                differ += base[i + shift] != other[i];
            assert_true(differ > DROP_N * 45L / 100 && differ < DROP_N * 55L / 100);
        }
        free(other);
    }
    free(base);
}

/* The kept fraction of 100000 elements is within 0.01 of 1 - rate. */
static void test_dropout_kept_fraction(void **state)
{
    static const float rates[] = {0.1f, 0.25f, 0.5f, 0.9f};
    (void)state;
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        uint8_t *mask = mask_of(1234 + r, 0, DROP_N, rates[r]);
        long kept = 0;
        for (int i = 0; i < DROP_N; i++)
            kept += mask[i];
        print_message("  rate %.2f: kept %.4f\n", rates[r], (double)kept / DROP_N);
        assert_close((double)kept / DROP_N, 1.0 - rates[r], 0.01);
        free(mask);
    }
}

/* Rate 0 keeps everything and the output is the input to the bit. */
static void test_dropout_rate_zero_is_identity(void **state)
{
    enum { N = 1000 };
    uint8_t *mask = mask_of(99, 0, N, 0.0f);
    float x[N], y[N], dx[N] = {0};
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 71);
    gc_fill_normal(x, N, 1.0f, &rng);
    for (int i = 0; i < N; i++)
        assert_int_equal(mask[i], 1);
    nn_dropout_forward(x, mask, y, N, 0.0f);
    assert_memory_equal(x, y, sizeof x);
    nn_dropout_backward(mask, x, dx, N, 0.0f);
    assert_memory_equal(x, dx, sizeof x);
    free(mask);
}

/* Kept values are scaled by 1 / (1 - rate), dropped ones are 0, and
 * backward adds dy scaled the same way. */
static void test_dropout_scales(void **state)
{
    enum { N = 500 };
    const float rate = 0.4f, scale = 1.0f / (1.0f - rate);
    uint8_t *mask = mask_of(5, 0, N, rate);
    float x[N], y[N], dy[N], dx[N], before[N];
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 72);
    gc_fill_normal(x, N, 1.0f, &rng);
    gc_fill_normal(dy, N, 1.0f, &rng);
    gc_fill_normal(before, N, 1.0f, &rng); /* what backward adds onto */
    memcpy(dx, before, sizeof dx);
    nn_dropout_backward(mask, dy, dx, N, rate);
    for (int i = 0; i < N; i++)
        assert_close(dx[i], before[i] + (mask[i] ? dy[i] * scale : 0.0f), 1e-6);
    nn_dropout_forward(x, mask, y, N, rate);
    for (int i = 0; i < N; i++)
        assert_close(y[i], mask[i] ? x[i] * scale : 0.0f, 1e-6);
    free(mask);
}

enum { DROP_SMALL = 100 };

typedef struct {
    float x[DROP_SMALL], y[DROP_SMALL], r[DROP_SMALL];
    uint8_t mask[DROP_SMALL];
    float rate;
} drop_ctx;

static double drop_loss(void *p)
{
    drop_ctx *c = p;
    nn_dropout_forward(c->x, c->mask, c->y, DROP_SMALL, c->rate);
    return project(c->r, c->y, DROP_SMALL);
}

/* Finite differences through a fixed mask; backward twice doubles dx. */
static void test_dropout_gradient(void **state)
{
    enum { N = DROP_SMALL };
    drop_ctx c;
    float once[N] = {0}, twice[N] = {0};
    nn_rng rng;
    (void)state;
    c.rate = 0.3f;
    nn_dropout_mask(17, 0, N, c.rate, c.mask);
    nn_rng_seed(&rng, 73);
    gc_fill_normal(c.x, N, 1.0f, &rng);
    gc_fill_normal(c.r, N, 1.0f, &rng);
    nn_dropout_backward(c.mask, c.r, once, N, c.rate);
    check("dropout 0.3, fixed mask", drop_loss, &c, c.x, once, N);
    nn_dropout_backward(c.mask, c.r, twice, N, c.rate);
    nn_dropout_backward(c.mask, c.r, twice, N, c.rate);
    assert_doubled(once, twice, N);
}

/* ------------------------------------------------------------ optimizers */

static nn_optim_settings settings(float lr, float momentum)
{
    nn_optim_settings s;
    memset(&s, 0, sizeof s);
    s.lr = lr;
    s.momentum = momentum;
    s.beta1 = 0.9f;
    s.beta2 = 0.999f;
    s.alpha = 0.99f;
    s.eps = 1e-8f;
    return s;
}

static void test_rmsprop_by_hand(void **state)
{
    /* lr 0.01, alpha 0.99, w = 1, g = 0.5.
     * Plain. step 1: sq = 0.01 * 0.25 = 0.0025, w = 1 - 0.01 * 0.5 / 0.05 = 0.9
     *   step 2: sq = 0.99 * 0.0025 + 0.0025 = 0.004975,
     *   w = 0.9 - 0.005 / sqrt(0.004975) = 0.82911191
     * Momentum 0.9, wd 0.01. step 1: d = 0.51, sq = 0.002601, buf = 10,
     *   w = 0.9; step 2: d = 0.509, sq = 0.99 * 0.002601 + 0.01 * 0.509^2
     *   = 0.0051658, buf = 9 + 0.509 / sqrt(0.0051658) = 16.081882,
     *   w = 0.9 - 0.16081882 = 0.73918118 (in double) */
    nn_optim_settings plain = settings(0.01f, 0.0f), heavy = settings(0.01f, 0.9f);
    float w = 1.0f, g = 0.5f, sq = 0.0f, buf = 0.0f;
    float *plain_state[] = {&sq}, *heavy_state[] = {&sq, &buf};
    (void)state;
    nn_rmsprop_update(&plain, &w, &g, plain_state, 1, 0.0f, 1);
    assert_close(w, 0.9, 1e-6);
    nn_rmsprop_update(&plain, &w, &g, plain_state, 1, 0.0f, 2);
    assert_close(w, 0.82911191, 1e-6);
    w = 1.0f;
    sq = 0.0f;
    nn_rmsprop_update(&heavy, &w, &g, heavy_state, 1, 0.01f, 1);
    assert_close(buf, 10.0, 1e-5);
    assert_close(w, 0.9, 1e-6);
    nn_rmsprop_update(&heavy, &w, &g, heavy_state, 1, 0.01f, 2);
    assert_close(buf, 16.081882, 2e-5); /* 1e-6 relative */
    assert_close(w, 0.73918118, 1e-6);
}

static void test_adamw_by_hand(void **state)
{
    /* lr 0.01, wd 0.01, w = 1, g = 0.5: the bias-corrected moments are
     * 0.5 and 0.25 at every step, so each step is w (1 - 1e-4) - 0.01:
     * 0.9899, then 0.9899 * 0.9999 - 0.01 = 0.97980101. Weight decay is not
     * in the moments: m = 0.05 and v = 0.00025 after step 1. */
    nn_optim_settings s = settings(0.01f, 0.0f);
    float w = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f, *moments[] = {&m, &v};
    (void)state;
    nn_adamw_update(&s, &w, &g, moments, 1, 0.01f, 1);
    assert_close(m, 0.05, 1e-7);
    assert_close(v, 0.00025, 1e-8); /* 1 - 0.999f is 0.0009999871 */
    assert_close(w, 0.9899, 1e-6);
    nn_adamw_update(&s, &w, &g, moments, 1, 0.01f, 2);
    assert_close(w, 0.97980101, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_avgpool_k3_s2_p1),
        cmocka_unit_test(test_avgpool_k2_s2_p0),
        cmocka_unit_test(test_avgpool_k3_s1_p1),
        cmocka_unit_test(test_avgpool_paths_match_definition),
        cmocka_unit_test(test_avgpool_excluded_padding_and_ceil_gradients),
        cmocka_unit_test(test_avgpool_padding_counts),
        cmocka_unit_test(test_avgpool_ceil_mode_by_hand),
        cmocka_unit_test(test_pool_output_sizes),
        cmocka_unit_test(test_avgpool_wrong_gradient_caught),
        cmocka_unit_test(test_global_avgpool),
        cmocka_unit_test(test_leakyrelu),
        cmocka_unit_test(test_leakyrelu_values_and_nan),
        cmocka_unit_test(test_leakyrelu_matches_definition),
        cmocka_unit_test(test_dropout_mask_is_split_independent),
        cmocka_unit_test(test_dropout_keys_differ),
        cmocka_unit_test(test_dropout_kept_fraction),
        cmocka_unit_test(test_dropout_rate_zero_is_identity),
        cmocka_unit_test(test_dropout_scales),
        cmocka_unit_test(test_dropout_gradient),
        cmocka_unit_test(test_rmsprop_by_hand),
        cmocka_unit_test(test_adamw_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
