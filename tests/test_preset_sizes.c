/* Gradients and updates at the sizes the presets really run, where the
 * small shapes of the other tests take other code paths:
 *  - dense layers with 784 (MNIST) and 2048 (the deep preset's dense256)
 *    inputs, whose backward is cut into several column pieces: every piece
 *    is compared with a double-precision reference, and central differences
 *    are taken at both ends of every 16-column tile (pieces start and end
 *    there), under every choice of kernels and with 1 and 2 threads;
 *  - the public nn_dense_backward and nn_dense_forward at 784, 2048 and a
 *    small size, against the same reference (the sign of dx included);
 *  - the presets' convolutions (lenet 5x5, deep and vgg 3x3), which run
 *    direct AVX2, Winograd or im2col depending on the kernels: forward, dx,
 *    dW and db of a batch of 2 against the reference;
 *  - several steps of every optimizer and option through nn_optim, against
 *    a double-precision re-implementation of the formulas in nn.h;
 *  - batchnorm's output and running statistics over several steps.
 * tests/mutate.sh shows that each of these fails when the code under it is
 * made wrong (docs/RELIABILITY.md, "Mutation check"). */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const nn_kernels kernel_choices[] = {
    NN_KERNELS_AUTO, NN_KERNELS_PORTABLE, NN_KERNELS_REFERENCE};
static const char *const kernel_names[] = {"auto", "portable", "reference"};
#define KERNEL_CHOICES 3
#define MAX_THREADS 2

/* Float results against double references: |got - want| <= ROUNDING times
 * the sum of |terms| of the value. Summing k terms in float in any order
 * stays within about sqrt(k) u (u = 2^-24) of that sum in practice, and
 * within k u at worst; Winograd's transforms add a small constant factor.
 * A wrong sign moves a value by about 2/sqrt(k) of it (k <= 2048 here: at
 * least 4e-2), a missing or doubled term by about 1/k (5e-4): both far
 * above 1e-5. */
#define ROUNDING 1e-5

static void *checked_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size);
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------ the double reference */

/* The convolution of nn.h in double, from zero, for n images:
 * y = b + W (*) x, dx = W^T (*) dy, dW = dy (*) x, db = sum dy. A dense
 * layer with `in` inputs is the 1x1 case on (in, 1, 1). With `absolute`
 * every input counts by its magnitude, which gives each value's sum of
 * |terms|: the scale of its rounding error. */
static void reference(const nn_conv2d_shape *s, int n, const float *x,
                      const float *w, const float *b, const float *dy,
                      int absolute, double *y, double *dx, double *dw,
                      double *db)
{
    size_t in_plane = (size_t)s->in_h * s->in_w;
    size_t out_plane = (size_t)s->out_h * s->out_w;
    size_t taps = (size_t)s->kh * s->kw;
    for (int img = 0; img < n; img++)
        for (int o = 0; o < s->out_c; o++) {
            const float *dyp = dy + ((size_t)img * s->out_c + o) * out_plane;
            double *yp = y + ((size_t)img * s->out_c + o) * out_plane;
            double bias = absolute ? fabs(b[o]) : b[o];
            for (size_t j = 0; j < out_plane; j++) {
                yp[j] = bias;
                db[o] += absolute ? fabs(dyp[j]) : dyp[j];
            }
            for (int c = 0; c < s->in_c; c++) {
                const float *xp = x + ((size_t)img * s->in_c + c) * in_plane;
                double *dxp = dx + ((size_t)img * s->in_c + c) * in_plane;
                for (int ki = 0; ki < s->kh; ki++)
                    for (int kj = 0; kj < s->kw; kj++) {
                        size_t tap = ((size_t)o * s->in_c + c) * taps +
                                     (size_t)ki * s->kw + kj;
                        double wv = absolute ? fabs(w[tap]) : w[tap], sum = 0.0;
                        for (int oy = 0; oy < s->out_h; oy++) {
                            int iy = oy * s->stride - s->pad + ki;
                            if (iy < 0 || iy >= s->in_h)
                                continue;
                            for (int ox = 0; ox < s->out_w; ox++) {
                                int ix = ox * s->stride - s->pad + kj;
                                size_t at = (size_t)iy * s->in_w + ix;
                                double xv, g;
                                if (ix < 0 || ix >= s->in_w)
                                    continue;
                                xv = absolute ? fabs(xp[at]) : xp[at];
                                g = dyp[(size_t)oy * s->out_w + ox];
                                g = absolute ? fabs(g) : g;
                                yp[(size_t)oy * s->out_w + ox] += wv * xv;
                                dxp[at] += wv * g;
                                sum += g * xv;
                            }
                        }
                        dw[tap] += sum;
                    }
            }
        }
}

/* The worst |got - want| / bound over count values; fails beyond tol. */
static double assert_matches(const char *what, const float *got,
                           const double *want, const double *bound,
                           size_t count, double tol)
{
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double err = fabs(got[i] - want[i]) / fmax(bound[i], 1e-30);
        if (err > worst) {
            worst = err;
            at = i;
        }
    }
    if (worst > tol)
        fail_msg("%s[%zu] = %.9g, reference %.9g: error %.3g of the sum of "
                 "|terms| (tolerance %.3g)",
                 what, at, got[at], want[at], worst, tol);
    return worst;
}

/* ------------------------------- one layer of a preset against the reference */

/* A dense or convolution layer as a preset has it. */
typedef struct {
    const char *name;
    int c, h, w; /* one input sample */
    int dense;   /* 1: dense with `out` outputs; 0: conv out x k x k, stride 1 */
    int out, k, pad;
    int batch;
} layer_spec;

/* Random inputs of one layer and, from the reference, what every kernel
 * choice must give; values in the order y, dx, then dW and db (the
 * layer's parameter layout). */
typedef struct {
    nn_conv2d_shape s; /* a dense layer as the 1x1 convolution */
    int n;
    size_t y_count, x_count, p_count; /* p: weights then biases */
    float *x, *params, *dy;
    double *want, *bound; /* (y_count + x_count + p_count) each */
} layer_case;

static void case_make(layer_case *lc, const layer_spec *spec, uint64_t seed)
{
    nn_conv2d_shape s = {spec->c, spec->h, spec->w, spec->out, spec->k,
                         spec->k, 1, spec->pad, 0, 0};
    size_t total, w_count;
    double *abs_w;
    nn_rng rng;
    if (spec->dense)
        s = (nn_conv2d_shape){spec->c * spec->h * spec->w, 1, 1, spec->out,
                              1, 1, 1, 0, 0, 0};
    assert_nn_ok(nn_conv2d_shape_check(&s));
    lc->s = s;
    lc->n = spec->batch;
    lc->x_count = (size_t)lc->n * s.in_c * s.in_h * s.in_w;
    lc->y_count = (size_t)lc->n * s.out_c * s.out_h * s.out_w;
    w_count = (size_t)s.out_c * s.in_c * s.kh * s.kw;
    lc->p_count = w_count + s.out_c;
    lc->x = checked_calloc(lc->x_count, sizeof(float));
    lc->dy = checked_calloc(lc->y_count, sizeof(float));
    lc->params = checked_calloc(lc->p_count, sizeof(float));
    total = lc->y_count + lc->x_count + lc->p_count;
    lc->want = checked_calloc(total, sizeof(double));
    lc->bound = checked_calloc(total, sizeof(double));
    nn_rng_seed(&rng, seed);
    gc_fill_normal(lc->x, lc->x_count, 1.0f, &rng);
    gc_fill_normal(lc->dy, lc->y_count, 1.0f, &rng);
    gc_fill_normal(lc->params, lc->p_count,
                   (float)(1.0 / sqrt((double)s.in_c * s.kh * s.kw)), &rng);
    for (int pass = 0; pass < 2; pass++) {
        double *r = pass ? lc->bound : lc->want;
        abs_w = r + lc->y_count + lc->x_count;
        reference(&s, lc->n, lc->x, lc->params, lc->params + w_count, lc->dy,
                  pass, r, r + lc->y_count, abs_w, abs_w + w_count);
    }
}

static void case_free(layer_case *lc)
{
    free(lc->x);
    free(lc->dy);
    free(lc->params);
    free(lc->want);
    free(lc->bound);
}

/* y, dx and then dW with db of a case, got[0..2], against want and bound
 * laid out as the reference's; `what` names the run in a failure. Returns
 * the worst error. */
static double assert_parts(const char *what, const layer_case *lc,
                           const float *const got[3], const double *want,
                           const double *bound)
{
    static const char *const parts[3] = {"y", "dx", "dW then db"};
    size_t count[3] = {lc->y_count, lc->x_count, lc->p_count}, at = 0;
    double worst = 0.0;
    for (int i = 0; i < 3; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s: %s", what, parts[i]);
        worst = fmax(worst, assert_matches(name, got[i], want + at, bound + at,
                                           count[i], ROUNDING));
        at += count[i];
    }
    return worst;
}

/* The net of one layer for a spec, with the case's parameters. */
static nn_net *layer_net(const layer_spec *spec, const layer_case *lc)
{
    nn_net *net = NULL;
    float *values, *grads;
    size_t count;
    assert_nn_ok(nn_net_create(spec->c, spec->h, spec->w, &net));
    if (spec->dense)
        assert_nn_ok(nn_net_add_dense(net, spec->out));
    else
        assert_nn_ok(nn_net_add_conv2d(net, spec->out, spec->k, spec->k, 1,
                                       spec->pad));
    assert_nn_ok(nn_net_build(net, lc->n, 1));
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_layer_params(net, 0, &values, &grads, &count));
    assert_int_equal(count, lc->p_count);
    memcpy(values, lc->params, count * sizeof *values);
    return net;
}

/* Forward and backward of the layer's net under every choice of kernels
 * and thread count: y, dx, dW and db all match the reference. */
static void check_layer(const layer_spec *spec, uint64_t seed)
{
    layer_case lc;
    nn_net *net;
    double worst = 0.0;
    case_make(&lc, spec, seed);
    net = layer_net(spec, &lc);
    for (int k = 0; k < KERNEL_CHOICES; k++)
        for (int threads = 1; threads <= MAX_THREADS; threads++) {
            nn_tensor *in = nn_net_input(net), *out;
            const float *got[3];
            char what[96];
            assert_nn_ok(nn_net_set_kernels(net, kernel_choices[k]));
            assert_nn_ok(nn_net_set_threads(net, threads));
            memcpy(in->x, lc.x, lc.x_count * sizeof *lc.x);
            assert_nn_ok(nn_net_forward(net, lc.n));
            out = nn_net_output(net);
            memcpy(out->g, lc.dy, lc.y_count * sizeof *lc.dy);
            nn_net_zero_grad(net);
            assert_nn_ok(nn_net_backward(net));
            snprintf(what, sizeof what, "%s, %s, %d threads", spec->name,
                     kernel_names[k], threads);
            got[0] = out->x;
            got[1] = in->g;
            got[2] = nn_net_grads(net);
            worst = fmax(worst, assert_parts(what, &lc, got, lc.want, lc.bound));
        }
    print_message("  %s: worst error %.2e of the sum of |terms|\n", spec->name,
                  worst);
    nn_net_destroy(net);
    case_free(&lc);
}

/* mlp's dense100 on MNIST (784 inputs: 4 column pieces in backward) and the
 * deep preset's dense256 on 128x4x4 (2048 inputs: 8 pieces), batch 64. */
static void test_dense_layers_match_reference(void **state)
{
    static const layer_spec specs[] = {
        {"mlp dense100 on 1x28x28", 1, 28, 28, 1, 100, 0, 0, 64},
        {"deep dense256 on 128x4x4", 128, 4, 4, 1, 256, 0, 0, 64},
    };
    (void)state;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        check_layer(&specs[i], 100 + i);
}

/* The presets' convolutions on a batch of 2. With AVX2 (auto), lenet's and
 * vgg's first run the direct kernels; 3x3 with 8+ channels in and out runs
 * Winograd (auto and portable); everything else, and all of reference,
 * im2col. */
static void test_conv_layers_match_reference(void **state)
{
    static const layer_spec specs[] = {
        {"lenet conv5x5x16p2 on 1x28x28", 1, 28, 28, 0, 16, 5, 2, 2},
        {"lenet conv5x5x16p2 on 16x14x14", 16, 14, 14, 0, 16, 5, 2, 2},
        {"deep conv3x3x64 on 1x28x28", 1, 28, 28, 0, 64, 3, 0, 2},
        {"deep conv3x3x64 on 64x26x26", 64, 26, 26, 0, 64, 3, 0, 2},
        {"deep conv3x3x128 on 64x12x12", 64, 12, 12, 0, 128, 3, 0, 2},
        {"vgg conv3x3x32p1 on 3x32x32", 3, 32, 32, 0, 32, 3, 1, 2},
        {"vgg conv3x3x32p1 on 32x32x32", 32, 32, 32, 0, 32, 3, 1, 2},
    };
    (void)state;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        check_layer(&specs[i], 200 + i);
}

/* The public kernels nn_dense_forward and nn_dense_backward, which
 * accumulate: gradients start non-zero, and each must end at its start
 * plus the reference (dx's sign included). */
static void check_dense_kernels(int n, int in, int out, uint64_t seed)
{
    layer_spec spec = {"kernels", in, 1, 1, 1, out, 0, 0, n};
    layer_case lc;
    size_t w_count = (size_t)in * out, total;
    float *y, *dx, *dw, *db;
    const float *got[3];
    double *want, *bound;
    nn_rng rng;
    print_message("  nn_dense_backward: batch %d, %d inputs, %d outputs\n",
                  n, in, out);
    case_make(&lc, &spec, seed);
    total = lc.y_count + lc.x_count + lc.p_count;
    y = checked_calloc(total, sizeof(float));
    dx = y + lc.y_count; /* then dW and db: the reference's order */
    dw = dx + lc.x_count;
    db = dw + w_count;
    want = checked_calloc(2 * total, sizeof(double));
    bound = want + total;
    nn_rng_seed(&rng, seed + 1);
    gc_fill_normal(dx, total - lc.y_count, 1.0f, &rng);
    for (size_t i = 0; i < total; i++) { /* the start (y: 0) + the reference */
        want[i] = lc.want[i] + y[i];
        bound[i] = lc.bound[i] + fabs(y[i]);
    }
    nn_dense_forward(lc.x, lc.params, lc.params + w_count, y, n, in, out);
    nn_dense_backward(lc.x, lc.params, lc.dy, dx, dw, db, n, in, out);
    got[0] = y;
    got[1] = dx;
    got[2] = dw;
    assert_parts("nn_dense_forward, nn_dense_backward", &lc, got, want, bound);
    free(y);
    free(want);
    case_free(&lc);
}

static void test_dense_kernels_match_reference(void **state)
{
    (void)state;
    check_dense_kernels(5, 7, 3, 300);
    check_dense_kernels(64, 784, 100, 301);
    check_dense_kernels(16, 2048, 256, 302);
}

/* --------------------------------------- gradient checks of whole nets */

/* The first and last column of every 16-column tile of `in` columns into
 * cols (room for 2 * ceil(in / 16)); returns how many. Backward cuts the
 * columns into pieces on tile boundaries, so these reach every piece and
 * both sides of every cut, whatever the cut. */
static int tile_ends(int in, size_t *cols)
{
    int count = 0;
    for (int first = 0; first < in; first += 16) {
        cols[count++] = (size_t)first;
        cols[count++] = (size_t)(first + 15 < in ? first + 15 : in - 1);
    }
    return count;
}

/* Input (c, h, w) -> dense hidden -> relu -> dense10, batch 2, under every
 * choice of kernels and 1 and 2 threads: central differences of a random
 * sample of every tensor, then of the first layer's weights (one row after
 * another) and of the input at both ends of every tile. */
static void check_dense_net(int c, int h, int w, int hidden, uint64_t seed)
{
    int in = c * h * w, count;
    size_t tiles = (size_t)(in + 15) / 16;
    size_t *cols = checked_calloc(6 * tiles, sizeof *cols);
    size_t *weights = cols + 2 * tiles, *inputs = weights + 2 * tiles;
    count = tile_ends(in, cols);
    for (int i = 0; i < count; i++) {
        weights[i] = (size_t)(i % hidden) * in + cols[i];
        inputs[i] = (size_t)(i % 2) * in + cols[i];
    }
    for (int k = 0; k < KERNEL_CHOICES; k++)
        for (int threads = 1; threads <= MAX_THREADS; threads++) {
            nn_net *net = NULL;
            gc_result r, part;
            nn_rng rng;
            assert_nn_ok(nn_net_create(c, h, w, &net));
            assert_nn_ok(nn_net_add_dense(net, hidden));
            assert_nn_ok(nn_net_add_relu(net));
            assert_nn_ok(nn_net_add_dense(net, 10));
            assert_nn_ok(nn_net_build(net, 2, seed));
            assert_nn_ok(nn_net_set_kernels(net, kernel_choices[k]));
            assert_nn_ok(nn_net_set_threads(net, threads));
            nn_rng_seed(&rng, seed + 1);
            gc_fill_normal(nn_net_input(net)->x, (size_t)2 * in, 1.0f, &rng);
            r = gc_check_net(net, 2, seed + 2, 150, 1e-2f, NULL);
            part = gc_check_net_at(net, 2, seed + 3, 0, weights, count, 1e-2f);
            gc_merge(&r, &part);
            part = gc_check_net_at(net, 2, seed + 4, -1, inputs, count, 1e-2f);
            gc_merge(&r, &part);
            print_message("  %dx%dx%d -> dense%d, %s, %d threads: max error "
                          "%.2e, %d checked, %d skipped\n", c, h, w, hidden,
                          kernel_names[k], threads, r.max_error, r.checked,
                          r.skipped);
            assert_true(gc_passed(&r, 1e-3));
            nn_net_destroy(net);
        }
    free(cols);
}

static void test_dense_784_gradients(void **state)
{
    (void)state;
    check_dense_net(1, 28, 28, 16, 400);
}

static void test_dense_2048_gradients(void **state)
{
    (void)state;
    check_dense_net(128, 4, 4, 32, 410);
}

/* ----------------------------------------------------------- optimizers */

/* The update rules of nn.h, in double, for one value w with its state a, b:
 * d = g + wd w (AdamW: decoupled, w -= lr wd w first), then
 *   SGD      v = mu v + d (EMA: (1-mu) d); w -= lr v, or lr (d + mu v)
 *            with Nesterov, or lr d when mu = 0;
 *   Adam     m = b1 m + (1-b1) d, v = b2 v + (1-b2) d^2,
 *            w -= lr (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps);
 *   RMSprop  a = alpha a + (1-alpha) d^2; w -= lr d / (sqrt(a) + eps), or
 *            b = mu b + d / (sqrt(a) + eps), w -= lr b with momentum. */
static void reference_update(const nn_optim_settings *s, double *w, double g,
                             double *a, double *b, double wd, long t)
{
    double d = g + wd * *w, mu = s->momentum;
    if (s->kind == NN_OPTIM_ADAMW) { /* decoupled: Adam's step on g */
        *w -= (double)s->lr * wd * *w;
        d = g;
    }
    switch (s->kind) {
    case NN_OPTIM_SGD:
        if (mu == 0.0) {
            *w -= s->lr * d;
            break;
        }
        *a = mu * *a + (s->momentum_kind == NN_MOMENTUM_EMA ? 1.0 - mu : 1.0) * d;
        *w -= s->lr * (s->nesterov ? d + mu * *a : *a);
        break;
    case NN_OPTIM_ADAM:
    case NN_OPTIM_ADAMW:
        *a = s->beta1 * *a + (1.0 - s->beta1) * d;
        *b = s->beta2 * *b + (1.0 - s->beta2) * d * d;
        *w -= s->lr * (*a / (1.0 - pow(s->beta1, (double)t))) /
              (sqrt(*b / (1.0 - pow(s->beta2, (double)t))) + s->eps);
        break;
    case NN_OPTIM_RMSPROP:
        *a = s->alpha * *a + (1.0 - s->alpha) * d * d;
        if (mu == 0.0) {
            *w -= s->lr * d / (sqrt(*a) + s->eps);
        } else {
            *b = mu * *b + d / (sqrt(*a) + s->eps);
            *w -= s->lr * *b;
        }
        break;
    }
}

/* 1x3x3 -> conv2x2x2 -> batchnorm -> dense3: conv and dense
 * weights (decayed), their biases and batchnorm's gamma and beta (not
 * decayed, unless decay_all). */
static nn_net *optim_net(void)
{
    nn_net *net = NULL;
    assert_nn_ok(nn_net_create(1, 3, 3, &net));
    assert_nn_ok(nn_net_add_conv2d(net, 2, 2, 2, 1, 0));
    assert_nn_ok(nn_net_add_batchnorm(net));
    assert_nn_ok(nn_net_add_dense(net, 3));
    assert_nn_ok(nn_net_build(net, 1, 7));
    return net;
}

/* Which parameters weight decay applies to: each layer's leading
 * `decayed`, or all of them with decay_all. */
static void decay_mask(nn_net *net, int decay_all, unsigned char *mask)
{
    size_t at = 0;
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_info info;
        assert_nn_ok(nn_net_layer_info(net, i, &info));
        for (size_t j = 0; j < info.params; j++)
            mask[at + j] = decay_all || j < info.decayed;
        at += info.params;
    }
    assert_int_equal(at, nn_net_param_count(net));
}

/* STEPS steps of nn_optim_step with new N(0,1) gradients each time: every
 * parameter follows the reference within float rounding after each step. */
#define STEPS 6
static void check_optimizer(const char *name, const nn_optim_settings *s)
{
    nn_net *net = optim_net();
    nn_optim *opt = tu_optim(net, s);
    size_t n = nn_net_param_count(net);
    float *w = nn_net_params(net), *g = nn_net_grads(net);
    double *ref = checked_calloc(3 * n, sizeof *ref);
    unsigned char *decayed = checked_calloc(n, 1);
    nn_rng rng;
    print_message("  %s\n", name);
    nn_rng_seed(&rng, 5);
    gc_fill_normal(w, n, 1.0f, &rng); /* biases and gamma away from 0, 1 */
    for (size_t i = 0; i < n; i++)
        ref[i] = w[i];
    decay_mask(net, s->decay_all, decayed);
    for (long t = 1; t <= STEPS; t++) {
        gc_fill_normal(g, n, 1.0f, &rng);
        assert_nn_ok(nn_optim_step(opt, net));
        for (size_t i = 0; i < n; i++) {
            reference_update(s, &ref[i], g[i], &ref[n + i], &ref[2 * n + i],
                             decayed[i] ? s->weight_decay : 0.0, t);
            if (fabs(w[i] - ref[i]) > 1e-5 * fmax(1.0, fabs(ref[i])))
                fail_msg("%s, step %ld, parameter %zu: %.9g, reference %.9g",
                         name, t, i, w[i], ref[i]);
        }
    }
    free(ref);
    free(decayed);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* Settings of one optimizer case: kind's defaults changed by the rest
 * (large enough rates and decays that every term moves the weights). */
typedef struct {
    const char *name;
    nn_optim_kind kind;
    float lr, momentum, weight_decay;
    nn_momentum_kind momentum_kind;
    int nesterov, decay_all;
} optim_case;

static void test_optimizers_follow_formulas(void **state)
{
    static const optim_case cases[] = {
        {"sgd", NN_OPTIM_SGD, 0.1f, 0.0f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"sgd momentum", NN_OPTIM_SGD, 0.1f, 0.9f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"sgd momentum decay_all", NN_OPTIM_SGD, 0.1f, 0.9f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 1},
        {"sgd nesterov", NN_OPTIM_SGD, 0.1f, 0.9f, 0.1f, NN_MOMENTUM_PYTORCH, 1, 0},
        {"sgd ema", NN_OPTIM_SGD, 0.1f, 0.9f, 0.1f, NN_MOMENTUM_EMA, 0, 0},
        {"sgd ema nesterov", NN_OPTIM_SGD, 0.1f, 0.8f, 0.1f, NN_MOMENTUM_EMA, 1, 1},
        {"adam", NN_OPTIM_ADAM, 0.05f, 0.0f, 0.0f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"adam decay", NN_OPTIM_ADAM, 0.05f, 0.0f, 0.3f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"adam decay_all", NN_OPTIM_ADAM, 0.05f, 0.0f, 0.3f, NN_MOMENTUM_PYTORCH, 0, 1},
        {"rmsprop", NN_OPTIM_RMSPROP, 0.05f, 0.0f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"rmsprop momentum", NN_OPTIM_RMSPROP, 0.05f, 0.9f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"rmsprop momentum decay_all", NN_OPTIM_RMSPROP, 0.05f, 0.9f, 0.1f, NN_MOMENTUM_PYTORCH, 0, 1},
        {"adamw", NN_OPTIM_ADAMW, 0.1f, 0.0f, 0.5f, NN_MOMENTUM_PYTORCH, 0, 0},
        {"adamw decay_all", NN_OPTIM_ADAMW, 0.1f, 0.0f, 0.5f, NN_MOMENTUM_PYTORCH, 0, 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const optim_case *c = &cases[i];
        nn_optim_settings s = nn_optim_defaults(c->kind);
        s.lr = c->lr;
        s.momentum = c->momentum;
        s.weight_decay = c->weight_decay;
        s.momentum_kind = c->momentum_kind;
        s.nesterov = c->nesterov;
        s.decay_all = c->decay_all;
        check_optimizer(c->name, &s);
    }
}

/* ---------------------------------------------------------- batchnorm */

/* A net of one batchnorm layer on inputs (c, h, w), batch n, trained for
 * STEPS forward passes on inputs of shifted, scaled channels: the output
 * is gamma (x - mean) / sqrt(var + 1e-5) + beta with the biased variance
 * of the n*h*w values of each channel, and after each pass
 *   running_mean = 0.9 running_mean + 0.1 mean,
 *   running_var  = 0.9 running_var + 0.1 var * M / (M - 1),  M = n*h*w. */
static void check_batchnorm(int c, int h, int w, int n, uint64_t seed)
{
    nn_net *net = NULL;
    size_t hw = (size_t)h * w, m = (size_t)n * hw;
    float *gamma, *grads, *state;
    double *running = checked_calloc(2 * (size_t)c, sizeof *running);
    size_t count;
    nn_rng rng;
    print_message("  batchnorm on %dx%dx%d, batch %d\n", c, h, w, n);
    assert_nn_ok(nn_net_create(c, h, w, &net));
    assert_nn_ok(nn_net_add_batchnorm(net));
    assert_nn_ok(nn_net_build(net, n, seed));
    assert_nn_ok(nn_net_layer_params(net, 0, &gamma, &grads, &count));
    assert_int_equal(nn_net_state_count(net), 2 * (size_t)c);
    state = nn_net_state(net);
    nn_rng_seed(&rng, seed);
    gc_fill_normal(gamma, count, 1.0f, &rng); /* gamma, then beta */
    for (int ch = 0; ch < c; ch++)
        running[c + ch] = 1.0; /* the initial running variance */
    for (int step = 0; step < STEPS; step++) {
        float *x = nn_net_input(net)->x, *y;
        for (size_t i = 0; i < (size_t)n * c * hw; i++)
            x[i] = (float)((i / hw) % c + 1) * (nn_rng_normal(&rng) + 0.5f * step);
        assert_nn_ok(nn_net_forward(net, n));
        y = nn_net_output(net)->x;
        for (int ch = 0; ch < c; ch++) {
            double sum = 0.0, sq = 0.0, mean, var;
            for (size_t i = 0; i < m; i++)
                sum += x[((i / hw) * c + ch) * hw + i % hw];
            mean = sum / m;
            for (size_t i = 0; i < m; i++) {
                double d = x[((i / hw) * c + ch) * hw + i % hw] - mean;
                sq += d * d;
            }
            var = sq / m;
            for (size_t i = 0; i < m; i++) {
                size_t at = ((i / hw) * c + ch) * hw + i % hw;
                double want = gamma[ch] * (x[at] - mean) / sqrt(var + 1e-5) +
                              gamma[c + ch];
                assert_close(y[at], want, 1e-5 * fmax(1.0, fabs(want)));
            }
            running[ch] = 0.9 * running[ch] + 0.1 * mean;
            running[c + ch] = 0.9 * running[c + ch] + 0.1 * sq / (m - 1);
            assert_close(state[ch], running[ch], 1e-5 * fmax(1.0, fabs(running[ch])));
            assert_close(state[c + ch], running[c + ch], 1e-5 * running[c + ch]);
        }
    }
    free(running);
    nn_net_destroy(net);
}

static void test_batchnorm_statistics(void **state)
{
    (void)state;
    check_batchnorm(6, 1, 1, 4, 500);  /* after a dense layer: M = 4 */
    check_batchnorm(3, 5, 5, 2, 501);  /* after a convolution: M = 50 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_layers_match_reference),
        cmocka_unit_test(test_conv_layers_match_reference),
        cmocka_unit_test(test_dense_kernels_match_reference),
        cmocka_unit_test(test_dense_784_gradients),
        cmocka_unit_test(test_dense_2048_gradients),
        cmocka_unit_test(test_optimizers_follow_formulas),
        cmocka_unit_test(test_batchnorm_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
