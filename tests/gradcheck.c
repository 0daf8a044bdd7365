/* Finite-difference gradient checking: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double rel_error(double a, double n)
{
    double scale = fmax(1.0, fmax(fabs(a), fabs(n)));
    return fabs(a - n) / scale;
}

/* Central difference of loss() in values[i] with step eps; sets *kink when
 * the one-sided differences disagree. */
static double central(gc_loss_fn loss, void *ctx, float *values, size_t i,
                      double base, float eps, int *kink)
{
    float saved = values[i];
    double plus, minus;
    values[i] = saved + eps;
    plus = loss(ctx);
    values[i] = saved - eps;
    minus = loss(ctx);
    values[i] = saved;
    *kink = rel_error((plus - base) / eps, (base - minus) / eps) > 0.05;
    return (plus - minus) / (2.0 * eps);
}

/* Checks coordinate i into r: its central difference against analytic[i]. */
static void compare_point(gc_loss_fn loss, void *ctx, float *values,
                          const float *analytic, size_t i, double base,
                          float eps, gc_result *r)
{
    int kink;
    double numeric = central(loss, ctx, values, i, base, eps, &kink);
    double error = rel_error(analytic[i], numeric);
    if (!kink && error > 1e-4) {
        /* A wrong gradient stays wrong at a smaller step; a kink that
         * the step happened to straddle usually moves out of reach. */
        double finer = central(loss, ctx, values, i, base, eps / 4, &kink);
        if (rel_error(analytic[i], finer) < error) {
            numeric = finer;
            error = rel_error(analytic[i], finer);
        }
    }
    if (kink) {
        r->skipped++;
        return;
    }
    r->checked++;
    r->max_error = fmax(r->max_error, error);
    r->max_numeric = fmax(r->max_numeric, fabs(numeric));
}

gc_result gc_compare(gc_loss_fn loss, void *ctx, float *values,
                     const float *analytic, size_t n, int max_points,
                     nn_rng *rng, float eps)
{
    gc_result r = {0, 0, 0, 0};
    size_t points = n <= (size_t)max_points ? n : (size_t)max_points;
    double base = loss(ctx);
    for (size_t k = 0; k < points; k++)
        compare_point(loss, ctx, values, analytic,
                      points == n ? k : nn_rng_next(rng) % n, base, eps, &r);
    return r;
}

gc_result gc_compare_at(gc_loss_fn loss, void *ctx, float *values,
                        const float *analytic, const size_t *indices,
                        int count, float eps)
{
    gc_result r = {0, 0, 0, 0};
    double base = loss(ctx);
    for (int k = 0; k < count; k++)
        compare_point(loss, ctx, values, analytic, indices[k], base, eps, &r);
    return r;
}

void gc_merge(gc_result *a, const gc_result *b)
{
    a->max_error = fmax(a->max_error, b->max_error);
    a->max_numeric = fmax(a->max_numeric, b->max_numeric);
    a->checked += b->checked;
    a->skipped += b->skipped;
}

int gc_passed(const gc_result *r, double tol)
{
    return r->checked > 0 && r->max_error < tol && r->max_numeric > 1e-4 &&
           r->skipped * 10 <= r->checked + r->skipped;
}

void gc_fill_spaced(float *x, size_t n, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = 0.05f * ((float)i - (float)n / 2.0f) + 0.025f;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = nn_rng_below(rng, (uint32_t)(i + 1));
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

void gc_fill_normal(float *x, size_t n, float scale, nn_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * nn_rng_normal(rng);
}

typedef struct {
    nn_net *net;
    int batch;
    const float *r;     /* (batch, outputs) projection */
    const int *labels;  /* or, when set, softmax cross-entropy labels */
} net_ctx;

static double net_loss(void *p)
{
    net_ctx *ctx = p;
    nn_tensor *out;
    double sum = 0.0;
    float xent;
    if (nn_net_forward(ctx->net, ctx->batch) != NN_OK)
        return NAN;
    if (ctx->labels)
        return nn_net_softmax_xent(ctx->net, ctx->labels, &xent) == NN_OK ? xent : NAN;
    out = nn_net_output(ctx->net);
    for (size_t i = 0; i < nn_tensor_count(out); i++)
        sum += (double)ctx->r[i] * out->x[i];
    return sum;
}

/* One check of a net: the projection r, and the analytic gradients of
 * the input and of every parameter from one backward pass. */
typedef struct {
    net_ctx ctx;
    nn_rng rng;         /* seeded from the check's seed, r drawn from it */
    float *r;           /* (batch, outputs) */
    float *grad_in;     /* (batch, c, h, w) */
    float *grad_params; /* (params) */
    size_t n_in;
} net_check;

static void net_check_begin(net_check *c, nn_net *net, int batch,
                            uint64_t seed, const int *labels)
{
    float xent;
    nn_tensor *in = nn_net_input(net), *out;
    size_t n_out, n_params = nn_net_param_count(net);

    c->ctx = (net_ctx){net, batch, NULL, labels};
    c->n_in = (size_t)batch * in->c * in->h * in->w;
    nn_rng_seed(&c->rng, seed);
    nn_net_set_input_grad(net, 1);
    assert_nn_ok(nn_net_forward(net, batch));
    out = nn_net_output(net);
    n_out = nn_tensor_count(out);
    c->r = malloc(n_out * sizeof *c->r);
    c->grad_in = malloc(c->n_in * sizeof *c->grad_in);
    c->grad_params = malloc((n_params ? n_params : 1) * sizeof *c->grad_params);
    assert_non_null(c->r);
    assert_non_null(c->grad_in);
    assert_non_null(c->grad_params);
    gc_fill_normal(c->r, n_out, 1.0f, &c->rng);
    c->ctx.r = c->r;

    /* Analytic: dL/dout = r (or the loss's gradient), back-propagated once. */
    if (labels)
        assert_nn_ok(nn_net_softmax_xent(net, labels, &xent));
    else
        memcpy(out->g, c->r, n_out * sizeof *c->r);
    nn_net_zero_grad(net);
    assert_nn_ok(nn_net_backward(net));
    memcpy(c->grad_in, in->g, c->n_in * sizeof *c->grad_in);
    memcpy(c->grad_params, nn_net_grads(net), n_params * sizeof *c->grad_params);
}

static void net_check_end(net_check *c)
{
    free(c->r);
    free(c->grad_in);
    free(c->grad_params);
}

gc_result gc_check_net(nn_net *net, int batch, uint64_t seed, int max_points,
                       float eps,
                       const int *labels)
{
    gc_result total = {0, 0, 0, 0}, part;
    net_check c;

    net_check_begin(&c, net, batch, seed, labels);
    part = gc_compare(net_loss, &c.ctx, nn_net_input(net)->x, c.grad_in,
                      c.n_in, max_points, &c.rng, eps);
    gc_merge(&total, &part);
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        float *values, *grads;
        size_t count;
        assert_nn_ok(nn_net_layer_params(net, i, &values, &grads, &count));
        if (count == 0)
            continue;
        part = gc_compare(net_loss, &c.ctx, values,
                          c.grad_params + (values - nn_net_params(net)), count,
                          max_points, &c.rng, eps);
        if (!gc_passed(&part, 1e-3))
            print_message("layer %d: max error %g, max numeric %g, %d checked, %d skipped\n",
                          i, part.max_error, part.max_numeric, part.checked,
                          part.skipped);
        gc_merge(&total, &part);
    }
    net_check_end(&c);
    return total;
}

gc_result gc_check_net_at(nn_net *net, int batch, uint64_t seed, int layer,
                          const size_t *indices, int count, float eps)
{
    gc_result r;
    net_check c;
    float *values = nn_net_input(net)->x, *grads;
    const float *analytic;
    size_t n;

    net_check_begin(&c, net, batch, seed, NULL);
    analytic = c.grad_in;
    n = c.n_in;
    if (layer >= 0) {
        assert_nn_ok(nn_net_layer_params(net, layer, &values, &grads, &n));
        analytic = c.grad_params + (values - nn_net_params(net));
    }
    for (int k = 0; k < count; k++)
        assert_true(indices[k] < n);
    r = gc_compare_at(net_loss, &c.ctx, values, analytic, indices, count, eps);
    net_check_end(&c);
    return r;
}
