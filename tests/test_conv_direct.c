/* The direct AVX2 convolutions (src/compute/conv_direct_avx2.c) against the im2col
 * reference, their AVX-512 tiles against the AVX2 ones bit for bit, and a
 * gradient check of a net that runs them.
 *
 * Tolerance: a float sum of k terms, in any order, is within
 * gamma * sum |terms| of the exact sum, gamma = (k + 4) u with u = 2^-24.
 * Both methods obey that bound, so they differ by at most twice it; the
 * sums of |terms| come from the reference run on |x|, |W|, |dy| and |b|.
 * A wrong, missing or doubled term is the size of one term, about k times
 * more than the bound, so it cannot hide. */
#include "gradcheck.h"
#include "core/util.h"
#include "compute/conv_direct.h"
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Skips the calling test, saying why, when the direct kernels cannot run. */
#define SKIP_WITHOUT_AVX2()                                                 \
    do {                                                                    \
        if (!nn_cpu_has_avx2()) {                                          \
            print_message("  SKIPPED: this CPU has no AVX2+FMA, so the "    \
                          "direct convolution kernels cannot run\n");       \
            skip();                                                         \
        }                                                                   \
    } while (0)

/* Every buffer of one comparison, from one allocation. */
typedef struct {
    nn_conv2d_shape s;
    int n;
    size_t x_size, w_size, y_size;
    float *x, *w, *b, *dy;                 /* inputs */
    float *y_ref, *dx_ref, *dw_ref, *db_ref; /* im2col results */
    float *y, *dx, *dw, *db;               /* direct results */
    float *y_abs, *dx_abs, *dw_abs, *db_abs; /* sums of |terms| */
    float *col, *scratch;
    float *mem;
} conv_case;

static void fill_abs(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = fabsf(src[i]);
}

static void case_alloc(conv_case *c, const nn_conv2d_shape *shape, int n,
                       nn_rng *rng)
{
    size_t col, scratch, total, used = 0;
    float **parts[] = {&c->x, &c->w, &c->b, &c->dy, &c->y_ref, &c->dx_ref,
                       &c->dw_ref, &c->db_ref, &c->y, &c->dx, &c->dw, &c->db,
                       &c->y_abs, &c->dx_abs, &c->dw_abs, &c->db_abs,
                       &c->col, &c->scratch};
    size_t sizes[18];
    c->s = *shape;
    assert_nn_ok(nn_conv2d_shape_check(&c->s));
    c->n = n;
    c->x_size = (size_t)n * c->s.in_c * c->s.in_h * c->s.in_w;
    c->w_size = (size_t)c->s.out_c * c->s.in_c * c->s.kh * c->s.kw;
    c->y_size = (size_t)n * c->s.out_c * c->s.out_h * c->s.out_w;
    col = nn_conv2d_scratch(&c->s);
    scratch = nn_conv_direct_scratch(&c->s);
    {
        size_t x = c->x_size, w = c->w_size, y = c->y_size, b = c->s.out_c;
        size_t list[18] = {x, w, b, y, y, x, w, b, y, x, w, b, y, x, w, b,
                           col, scratch};
        memcpy(sizes, list, sizeof sizes);
    }
    total = 0;
    for (int i = 0; i < 18; i++)
        total += sizes[i];
    c->mem = malloc(sizeof(float) * total);
    assert_non_null(c->mem);
    for (int i = 0; i < 18; i++) {
        *parts[i] = c->mem + used;
        used += sizes[i];
    }
    gc_fill_normal(c->x, c->x_size, 1.0f, rng);
    gc_fill_normal(c->w, c->w_size, 0.3f, rng);
    gc_fill_normal(c->b, c->s.out_c, 1.0f, rng);
    gc_fill_normal(c->dy, c->y_size, 1.0f, rng);
    /* gradients start non-zero: both methods must accumulate */
    gc_fill_normal(c->dx_ref, c->x_size, 1.0f, rng);
    gc_fill_normal(c->dw_ref, c->w_size, 1.0f, rng);
    gc_fill_normal(c->db_ref, c->s.out_c, 1.0f, rng);
    memcpy(c->dx, c->dx_ref, sizeof(float) * c->x_size);
    memcpy(c->dw, c->dw_ref, sizeof(float) * c->w_size);
    memcpy(c->db, c->db_ref, sizeof(float) * c->s.out_c);
    /* scratch starts as garbage: the kernels must not read it first */
    for (size_t i = 0; i < scratch; i++)
        c->scratch[i] = NAN;
}

/* Sums of |terms|: the reference on absolute values. */
static void case_bounds(conv_case *c)
{
    float *ax = malloc(sizeof(float) * (c->x_size + c->w_size + c->s.out_c +
                                        c->y_size));
    float *aw, *ab, *ady;
    assert_non_null(ax);
    aw = ax + c->x_size;
    ab = aw + c->w_size;
    ady = ab + c->s.out_c;
    fill_abs(ax, c->x, c->x_size);
    fill_abs(aw, c->w, c->w_size);
    fill_abs(ab, c->b, c->s.out_c);
    fill_abs(ady, c->dy, c->y_size);
    fill_abs(c->dx_abs, c->dx_ref, c->x_size);
    fill_abs(c->dw_abs, c->dw_ref, c->w_size);
    fill_abs(c->db_abs, c->db_ref, c->s.out_c);
    nn_conv2d_forward(&c->s, ax, aw, ab, c->y_abs, c->col, c->n);
    nn_conv2d_backward(&c->s, ax, aw, ady, c->dx_abs, c->dw_abs, c->db_abs,
                       c->col, c->n);
    free(ax);
}

/* |got - want| <= 2 (terms + 4) u bound for each of count values. */
static void assert_within(const char *what, const nn_conv2d_shape *s,
                          const float *got, const float *want,
                          const float *bound, size_t count, size_t terms)
{
    double gamma = 2.0 * (double)(terms + 4) * ldexp(1.0, -24);
    for (size_t i = 0; i < count; i++) {
        double tol = gamma * bound[i] * 1.01 + 1e-30;
        if (!(fabs((double)got[i] - want[i]) <= tol))
            fail_msg("%s[%zu] = %.9g, im2col %.9g (tol %.3g) for in_c %d "
                     "%dx%d out_c %d k %dx%d pad %d", what, i, got[i],
                     want[i], tol, s->in_c, s->in_h, s->in_w, s->out_c,
                     s->kh, s->kw, s->pad);
    }
}

static void case_free(conv_case *c)
{
    free(c->mem);
}

/* Forward and backward (with and without dx) of one geometry, both ways. */
static void compare(const nn_conv2d_shape *shape, int n, uint64_t seed)
{
    conv_case c;
    nn_rng rng;
    nn_conv2d_shape s;
    size_t pixels, area;
    float *y_again;
    nn_rng_seed(&rng, seed);
    case_alloc(&c, shape, n, &rng);
    s = c.s;
    pixels = (size_t)s.out_h * s.out_w;
    area = (size_t)s.kh * s.kw;
    assert_true(nn_conv_direct_fits(&s));

    nn_conv2d_forward(&s, c.x, c.w, c.b, c.y_ref, c.col, n);
    nn_conv2d_backward(&s, c.x, c.w, c.dy, c.dx_ref, c.dw_ref, c.db_ref,
                       c.col, n);
    case_bounds(&c);
    nn_conv_direct_forward(&s, c.x, c.w, c.b, c.y, c.scratch, n);
    nn_conv_direct_backward(&s, c.x, c.w, c.dy, c.dx, c.dw, c.db, c.scratch,
                            n);
    /* y: in_c*kh*kw products and the bias; dW and db: n*pixels terms and
     * the value before; dx: at most out_c*kh*kw products and the value */
    assert_within("y", &s, c.y, c.y_ref, c.y_abs, c.y_size,
                  s.in_c * area + 1);
    assert_within("dW", &s, c.dw, c.dw_ref, c.dw_abs, c.w_size,
                  n * pixels + 1);
    assert_within("db", &s, c.db, c.db_ref, c.db_abs, s.out_c, n * pixels + 1);
    assert_within("dx", &s, c.dx, c.dx_ref, c.dx_abs, c.x_size,
                  s.out_c * area + 1);

    /* Same inputs, same bits; forward image by image gives those bits too. */
    y_again = malloc(sizeof(float) * c.y_size);
    assert_non_null(y_again);
    for (int i = 0; i < n; i++)
        nn_conv_direct_forward(&s, c.x + i * c.x_size / n, c.w, c.b,
                               y_again + i * c.y_size / n, c.scratch, 1);
    assert_memory_equal(y_again, c.y, sizeof(float) * c.y_size);

    /* dx NULL: only dW and db, with the same bits as alongside dx. */
    {
        float *dw2 = malloc(sizeof(float) * (c.w_size + s.out_c)), *db2;
        assert_non_null(dw2);
        db2 = dw2 + c.w_size;
        memcpy(dw2, c.dw, sizeof(float) * c.w_size);
        memcpy(db2, c.db, sizeof(float) * s.out_c);
        nn_conv_direct_backward(&s, c.x, c.w, c.dy, c.dx, c.dw, c.db,
                                c.scratch, n);
        nn_conv_direct_backward(&s, c.x, c.w, c.dy, NULL, dw2, db2, c.scratch,
                                n);
        assert_memory_equal(dw2, c.dw, sizeof(float) * c.w_size);
        assert_memory_equal(db2, c.db, sizeof(float) * s.out_c);
        free(dw2);
    }
    free(y_again);
    case_free(&c);
}

static nn_conv2d_shape shape_of(int in_c, int in_h, int in_w, int out_c,
                                int k, int pad)
{
    nn_conv2d_shape s = {in_c, in_h, in_w, out_c, k, k, 1, pad, 0, 0};
    return s;
}

/* The two layers of the lenet preset, at their real sizes. */
static void test_lenet_shapes(void **state)
{
    nn_conv2d_shape conv1 = shape_of(1, 28, 28, 16, 5, 2);
    nn_conv2d_shape conv2 = shape_of(16, 14, 14, 16, 5, 2);
    (void)state;
    SKIP_WITHOUT_AVX2();
    compare(&conv1, 3, 1);
    compare(&conv2, 3, 2);
}

/* A check of one geometry at batch n, its random numbers from seed. */
typedef void (*shape_check)(const nn_conv2d_shape *s, int n, uint64_t seed);

/* Many odd geometries: channels 1..20 (lanes of 8, 16 and 24), sizes that
 * are not multiples of 8, kernels 3 and 5, pads 0..2, batches 2 and 3;
 * the few the kernels do not take (3x3 on one channel) are drawn again.
 * With batch > 0, every geometry is checked at that batch instead. */
static void random_shapes(shape_check check, int batch)
{
    nn_rng rng;
    int done = 0;
    nn_rng_seed(&rng, 77);
    while (done < 60) {
        int k = nn_rng_below(&rng, 2) ? 5 : 3;
        int pad = (int)nn_rng_below(&rng, 3);
        int in_c = 1 + (int)nn_rng_below(&rng, 20);
        int out_c = 1 + (int)nn_rng_below(&rng, 20);
        int in_h = k - 2 * pad + (int)nn_rng_below(&rng, 16);
        int in_w = k - 2 * pad + (int)nn_rng_below(&rng, 16);
        nn_conv2d_shape s;
        int n;
        if (in_h < 1 || in_w < 1)
            continue;
        s = shape_of(in_c, in_h, in_w, out_c, k, pad);
        assert_nn_ok(nn_conv2d_shape_check(&s));
        if (!nn_conv_direct_fits(&s)) {
            assert_true(in_c == 1 && k == 3);
            continue;
        }
        n = 2 + (int)nn_rng_below(&rng, 2);
        check(&s, batch > 0 ? batch : n, 1000 + done);
        done++;
    }
}

static void test_random_shapes(void **state)
{
    (void)state;
    SKIP_WITHOUT_AVX2();
    random_shapes(compare, 0);
}

/* Edges: one channel each way, a 1x1 output, a non-square kernel, the
 * widest channel counts taken (in 24, out 64: four 16-lane blocks), and
 * every kind of tile (16 or 8 lanes; 6 or 5 taps per weight tile). With
 * batch > 0, every geometry is checked at that batch instead. */
static void edge_shapes(shape_check check, int batch)
{
    nn_conv2d_shape s;
    s = shape_of(1, 5, 5, 1, 5, 0); /* one output pixel */
    check(&s, batch ? batch : 2, 3);
    s = shape_of(2, 1, 1, 1, 3, 1); /* every tap but one in the padding */
    check(&s, batch ? batch : 2, 4);
    s = shape_of(3, 9, 7, 5, 3, 1);
    s.kw = 5;
    s.pad = 2;
    check(&s, batch ? batch : 2, 5);
    s = shape_of(24, 9, 10, 64, 3, 1);
    check(&s, batch ? batch : 2, 6);
    s = shape_of(7, 11, 13, 40, 5, 2); /* lanes 16 + 16 + 8 */
    check(&s, batch ? batch : 3, 7);
    s = shape_of(1, 10, 9, 5, 5, 2); /* 25 taps: weight tiles of 10 x 8 */
    check(&s, batch ? batch : 2, 8);
    s = shape_of(1, 12, 11, 20, 5, 1); /* 25 taps: 5 x 16 and 10 x 8 */
    check(&s, batch ? batch : 2, 9);
}

static void test_edge_shapes(void **state)
{
    (void)state;
    SKIP_WITHOUT_AVX2();
    edge_shapes(compare, 0);
}

/* Skips the calling test, saying why, when the AVX-512 tiles cannot run. */
#define SKIP_WITHOUT_AVX512()                                               \
    do {                                                                    \
        if (!nn_cpu_has_avx2() || !nn_cpu_has_avx512()) {                   \
            print_message("  SKIPPED: this CPU has no AVX-512F, so the "    \
                          "AVX-512 tiles cannot be compared with AVX2\n");  \
            skip();                                                         \
        }                                                                   \
    } while (0)

/* Shapes compared so far by compare_widths (printed at the end). */
static int widths_compared;

/* The AVX-512 tiles against the AVX2 ones on one geometry at batch n: y,
 * then dx, dW and db (starting non-zero: both accumulate) with dx, then
 * dW and db without dx, all bit for bit (memcmp). Scratch starts as NaN. */
static void compare_widths(const nn_conv2d_shape *shape, int n, uint64_t seed)
{
    nn_conv2d_shape s = *shape;
    size_t x_size, w_size, y_size, b_size, scratch, total;
    float *mem, *x, *w, *b, *dy, *out[2][4], *start[3], *sc;
    nn_rng rng;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_true(nn_conv_direct_fits(&s));
    x_size = (size_t)n * s.in_c * s.in_h * s.in_w;
    w_size = (size_t)s.out_c * s.in_c * s.kh * s.kw;
    y_size = (size_t)n * s.out_c * s.out_h * s.out_w;
    b_size = (size_t)s.out_c;
    scratch = nn_conv_direct_scratch(&s);
    /* x, w, b, dy, the gradients' starting values, scratch, then y, dx,
     * dW and db of each width */
    total = 4 * (x_size + w_size + b_size) + 3 * y_size + scratch;
    mem = malloc(sizeof(float) * total);
    assert_non_null(mem);
    x = mem;
    w = x + x_size;
    b = w + w_size;
    dy = b + b_size;
    start[0] = dy + y_size;       /* dx before: (n, in_c, in_h, in_w) */
    start[1] = start[0] + x_size; /* dW before: (out_c, in_c, kh, kw) */
    start[2] = start[1] + w_size; /* db before: (out_c) */
    sc = start[2] + b_size;
    for (int i = 0; i < 2; i++) { /* 0: AVX2, 1: AVX-512 */
        float *at = sc + scratch + i * (y_size + x_size + w_size + b_size);
        out[i][0] = at;                  /* y (n, out_c, out_h, out_w) */
        out[i][1] = at + y_size;         /* dx */
        out[i][2] = out[i][1] + x_size;  /* dW */
        out[i][3] = out[i][2] + w_size;  /* db */
    }
    nn_rng_seed(&rng, seed);
    gc_fill_normal(x, x_size, 1.0f, &rng);
    gc_fill_normal(w, w_size, 0.3f, &rng);
    gc_fill_normal(b, b_size, 1.0f, &rng);
    gc_fill_normal(dy, y_size, 1.0f, &rng);
    gc_fill_normal(start[0], x_size + w_size + b_size, 1.0f, &rng);
    for (int i = 0; i < 2; i++) {
        for (size_t k = 0; k < scratch; k++)
            sc[k] = NAN;
        memcpy(out[i][1], start[0], sizeof(float) * (x_size + w_size + b_size));
        nn_conv_direct_forward_with(&s, x, w, b, out[i][0], sc, n, i);
        nn_conv_direct_backward_with(&s, x, w, dy, out[i][1], out[i][2],
                                     out[i][3], sc, n, i);
    }
    {
        const char *names[4] = {"y", "dx", "dW", "db"};
        size_t sizes[4] = {y_size, x_size, w_size, b_size};
        for (int k = 0; k < 4; k++)
            if (memcmp(out[0][k], out[1][k], sizeof(float) * sizes[k]))
                fail_msg("AVX-512 %s differs from AVX2 for n %d in_c %d "
                         "%dx%d out_c %d k %dx%d pad %d", names[k], n, s.in_c,
                         s.in_h, s.in_w, s.out_c, s.kh, s.kw, s.pad);
    }
    /* without dx: dW and db only, from the same starting values */
    for (int i = 0; i < 2; i++) {
        memcpy(out[i][2], start[1], sizeof(float) * (w_size + b_size));
        nn_conv_direct_backward_with(&s, x, w, dy, NULL, out[i][2], out[i][3],
                                     sc, n, i);
    }
    if (memcmp(out[0][2], out[1][2], sizeof(float) * (w_size + b_size)))
        fail_msg("AVX-512 dW or db (no dx) differs from AVX2 for n %d in_c "
                 "%d %dx%d out_c %d k %dx%d pad %d", n, s.in_c, s.in_h,
                 s.in_w, s.out_c, s.kh, s.kw, s.pad);
    widths_compared++;
    free(mem);
}

/* The presets' layers the direct kernels take: lenet's two conv5x5x16p2
 * (1x28x28, 16x14x14), the first conv3x3x32p1 of vgg and vgg-gap and the
 * first conv3x3x16p1 of resnet20 (3x32x32), resnet20's conv3x3x16p1 on
 * 16x32x32; then shapes for the AVX-512 tiles' own edges: 48 lanes (32 +
 * 16), 64 (32 + 32), rows of 4, 13 (two overlapping segments) and 30
 * pixels, 3 pixels (AVX2 only), a 7x7 and a 3x5 kernel (dW on AVX2). */
static void preset_shapes(shape_check check, int n)
{
    /* in_c, in_h, in_w, out_c, kh, kw, pad (stride 1) */
    static const int shapes[][7] = {
        {1, 28, 28, 16, 5, 5, 2},  {16, 14, 14, 16, 5, 5, 2},
        {3, 32, 32, 32, 3, 3, 1},  {3, 32, 32, 16, 3, 3, 1},
        {16, 32, 32, 16, 3, 3, 1}, {5, 9, 13, 48, 3, 3, 1},
        {24, 11, 30, 64, 5, 5, 2}, {2, 7, 4, 24, 5, 5, 2},
        {4, 6, 3, 40, 5, 5, 2},    {2, 15, 17, 20, 7, 7, 3},
        {6, 10, 12, 33, 3, 5, 2},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int *g = shapes[i];
        nn_conv2d_shape s = {g[0], g[1], g[2], g[3], g[4], g[5], 1, g[6], 0, 0};
        check(&s, n, 31 + (uint64_t)i);
    }
}

/* AVX-512 against AVX2, bit for bit, on every geometry above and the
 * presets', at batches 1, 3 and 64. */
static void test_avx512_same_bits_as_avx2(void **state)
{
    static const int batches[3] = {1, 3, 64};
    (void)state;
    SKIP_WITHOUT_AVX512();
    widths_compared = 0;
    for (int i = 0; i < 3; i++) {
        preset_shapes(compare_widths, batches[i]);
        edge_shapes(compare_widths, batches[i]);
        random_shapes(compare_widths, batches[i]);
    }
    print_message("  avx512 vs avx2: %d geometries x batches, the same bits\n",
                  widths_compared);
}

/* Which shapes the direct kernels take, and which they leave to im2col. */
static void test_fits(void **state)
{
    nn_conv2d_shape s = shape_of(16, 14, 14, 16, 5, 2);
    (void)state;
    assert_nn_ok(nn_conv2d_shape_check(&s));
#if defined(__x86_64__)
    assert_true(nn_conv_direct_fits(&s));
#else
    assert_false(nn_conv_direct_fits(&s));
#endif
    s.stride = 2;
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_false(nn_conv_direct_fits(&s)); /* stride 2 */
    s = shape_of(16, 14, 14, 16, 3, 3);
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_false(nn_conv_direct_fits(&s)); /* pad >= kernel */
    s = shape_of(64, 14, 14, 64, 3, 1);
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_false(nn_conv_direct_fits(&s)); /* many channels */
    s = shape_of(1, 28, 28, 64, 3, 0);
    assert_nn_ok(nn_conv2d_shape_check(&s));
    assert_false(nn_conv_direct_fits(&s)); /* 9 taps */
}

/* A net of conv5x5 layers on NN_KERNELS_AUTO: the layer really runs the
 * direct kernels (its output has their bits), and its gradients pass a
 * central-difference check. */
static void test_net_gradcheck(void **state)
{
    nn_net *net = NULL;
    nn_tensor *in;
    nn_rng rng;
    gc_result r;
    nn_conv2d_shape first = shape_of(2, 9, 8, 4, 5, 2);
    (void)state;
    SKIP_WITHOUT_AVX2();
    assert_nn_ok(nn_conv2d_shape_check(&first));
    assert_true(nn_conv_direct_fits(&first));

    assert_nn_ok(nn_net_create(2, 9, 8, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 4, 5, 5, 1, 2));
    assert_nn_ok(nn_net_add_tanh(net));
    assert_nn_ok(nn_net_add_conv2d(net, 3, 5, 5, 1, 1));
    assert_nn_ok(nn_net_build(net, 2, 21));
    assert_nn_ok(nn_net_set_kernels(net, NN_KERNELS_AUTO));
    nn_net_set_input_grad(net, 1);
    in = nn_net_input(net);
    nn_rng_seed(&rng, 22);
    gc_fill_normal(in->x, nn_tensor_count(in), 1.0f, &rng);

    /* A net of the first layer alone gives the kernels' input gradient,
     * bit for bit, and im2col's differs (sums over out_c, then over taps):
     * the layer runs the direct kernels. (Its forward pass cannot tell: for
     * so few taps both methods add the same products in the same order.) */
    {
        nn_net *one = NULL;
        float *w, *g, *mem, *dx, *dx_im2col, *dw, *scratch;
        size_t count, in_size = 2 * 2 * 9 * 8, out_size = 2 * 4 * 9 * 8;
        size_t need = nn_conv_direct_scratch(&first) + nn_conv2d_scratch(&first);
        int differs = 0;
        assert_nn_ok(nn_net_create(2, 9, 8, &one));
        assert_nn_ok(nn_net_add_conv2d(one, 4, 5, 5, 1, 2));
        assert_nn_ok(nn_net_build(one, 2, 21));
        assert_nn_ok(nn_net_set_kernels(one, NN_KERNELS_AUTO));
        nn_net_set_input_grad(one, 1);
        assert_nn_ok(nn_net_layer_params(one, 0, &w, &g, &count));
        memcpy(nn_net_input(one)->x, in->x, sizeof(float) * in_size);
        assert_nn_ok(nn_net_forward(one, 2));
        gc_fill_normal(nn_net_output(one)->g, out_size, 1.0f, &rng);
        assert_nn_ok(nn_net_backward(one));

        mem = calloc(2 * in_size + count + need, sizeof(float));
        assert_non_null(mem);
        dx = mem;
        dx_im2col = dx + in_size;
        dw = dx_im2col + in_size;
        scratch = dw + count;
        nn_conv_direct_backward(&first, in->x, w, nn_net_output(one)->g, dx,
                                dw, dw + count - 4, scratch, 2);
        nn_conv2d_backward(&first, in->x, w, nn_net_output(one)->g, dx_im2col,
                           dw, dw + count - 4, scratch, 2);
        assert_memory_equal(nn_net_input(one)->g, dx, sizeof(float) * in_size);
        for (size_t i = 0; i < in_size; i++)
            differs |= dx[i] != dx_im2col[i];
        assert_true(differs);
        free(mem);
        nn_net_destroy(one);
    }

    r = gc_check_net(net, 2, 23, 60, 1e-2f, NULL);
    print_message("  max error %.2e, max |numeric| %.3f, %d checked, %d skipped\n",
                  r.max_error, r.max_numeric, r.checked, r.skipped);
    assert_true(gc_passed(&r, 1e-3));
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_lenet_shapes),
        cmocka_unit_test(test_random_shapes),
        cmocka_unit_test(test_edge_shapes),
        cmocka_unit_test(test_avx512_same_bits_as_avx2),
        cmocka_unit_test(test_net_gradcheck),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
