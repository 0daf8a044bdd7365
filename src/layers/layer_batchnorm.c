/* Batch normalisation per channel (per feature after a dense layer, whose
 * output is (n, features, 1, 1)). PyTorch's conventions: eps = 1e-5,
 * momentum = 0.1, running variance updated with the unbiased estimate. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* Sum over samples [first, last) and positions of channel ch of x, of
 * x (squared = 0) or of (x - mean)^2 (squared = 1), in double, one value
 * after another. */
static double channel_sum(const float *x, int squared, double mean, int first,
                          int last, int ch, int c, int hw)
{
    double sum = 0.0;
    for (int i = first; i < last; i++) {
        const float *xp = x + ((size_t)i * c + ch) * hw;
        if (squared)
            for (int j = 0; j < hw; j++)
                sum += (xp[j] - mean) * (xp[j] - mean);
        else
            for (int j = 0; j < hw; j++)
                sum += xp[j];
    }
    return sum;
}

/* Channel ch normalised with the batch's mean and squared deviations sq
 * (over count values), and its running statistics updated. */
static void normalize_channel(const float *x, const float *gamma,
                              const float *beta, double mean, double sq,
                              size_t count, float *y, float *xhat,
                              float *invstd, float *running_mean,
                              float *running_var, int n, int ch, int c,
                              int hw, float momentum, float eps)
{
    double var = sq / (double)count; /* biased: used to normalise */
    invstd[ch] = (float)(1.0 / sqrt(var + eps));
    for (int i = 0; i < n; i++) {
        size_t at = ((size_t)i * c + ch) * hw;
        for (int j = 0; j < hw; j++) {
            xhat[at + j] = (float)((x[at + j] - mean) * invstd[ch]);
            y[at + j] = gamma[ch] * xhat[at + j] + beta[ch];
        }
    }
    running_mean[ch] = (1.0f - momentum) * running_mean[ch] +
                       momentum * (float)mean;
    running_var[ch] = (1.0f - momentum) * running_var[ch] +
                      momentum * (float)(count > 1 ? sq / (double)(count - 1) : var);
}

void nn_batchnorm_forward_train(const float *x, const float *gamma,
                                const float *beta, float *y, float *xhat,
                                float *invstd, float *running_mean,
                                float *running_var, int n, int c, int hw,
                                float momentum, float eps)
{
    size_t count = (size_t)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double mean = channel_sum(x, 0, 0.0, 0, n, ch, c, hw) / (double)count;
        double sq = channel_sum(x, 1, mean, 0, n, ch, c, hw);
        normalize_channel(x, gamma, beta, mean, sq, count, y, xhat, invstd,
                          running_mean, running_var, n, ch, c, hw, momentum,
                          eps);
    }
}

void nn_batchnorm_forward_infer(const float *x, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, float *y,
                                float *xhat, float *invstd, int n, int c,
                                int hw, float eps)
{
    for (int ch = 0; ch < c; ch++)
        invstd[ch] = 1.0f / sqrtf(running_var[ch] + eps);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t at = ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++) {
                xhat[at + j] = (x[at + j] - running_mean[ch]) * invstd[ch];
                y[at + j] = gamma[ch] * xhat[at + j] + beta[ch];
            }
        }
}

/* The two sums of backward for channel ch over samples [first, last):
 * sums[0] = sum dy, sums[1] = sum dy * xhat, in float, in order. */
static void grad_sums(const float *dy, const float *xhat, int first, int last,
                      int ch, int c, int hw, float *sums)
{
    float sum_dy = 0.0f, sum_dy_xhat = 0.0f;
    for (int i = first; i < last; i++) {
        size_t at = ((size_t)i * c + ch) * hw;
        for (int j = 0; j < hw; j++) {
            sum_dy += dy[at + j];
            sum_dy_xhat += dy[at + j] * xhat[at + j];
        }
    }
    sums[0] = sum_dy;
    sums[1] = sum_dy_xhat;
}

/* dx of channel ch from the batch's sums (over count values). */
static void channel_backward(const float *dy, const float *xhat,
                             const float *gamma, const float *invstd,
                             float *dx, float sum_dy, float sum_dy_xhat,
                             float count, int n, int ch, int c, int hw,
                             int training)
{
    float scale = gamma[ch] * invstd[ch];
    for (int i = 0; i < n; i++) {
        size_t at = ((size_t)i * c + ch) * hw;
        for (int j = 0; j < hw; j++)
            dx[at + j] += training
                ? scale / count * (count * dy[at + j] - sum_dy -
                                   xhat[at + j] * sum_dy_xhat)
                : scale * dy[at + j];
    }
}

void nn_batchnorm_backward(const float *dy, const float *xhat,
                           const float *gamma, const float *invstd, float *dx,
                           float *dgamma, float *dbeta, int n, int c, int hw,
                           int training)
{
    float count = (float)n * (float)hw;
    for (int ch = 0; ch < c; ch++) {
        float sums[2];
        grad_sums(dy, xhat, 0, n, ch, c, hw, sums);
        dbeta[ch] += sums[0];
        dgamma[ch] += sums[1];
        if (dx)
            channel_backward(dy, xhat, gamma, invstd, dx, sums[0], sums[1],
                             count, n, ch, c, hw, training);
    }
}

/* Cache layout: invstd (c), then xhat (max_batch, c, h, w). */
typedef struct {
    nn_layer base;
    int trained; /* mode of the last forward: picks the backward formula */
} batchnorm_layer;

static void batchnorm_sizes(const nn_layer *layer, int max_batch,
                            nn_layer_sizes *out)
{
    out->params = 2 * (size_t)layer->in_c; /* gamma, beta */
    out->decayed = 0;
    out->state = 2 * (size_t)layer->in_c; /* running mean, running var */
    /* per shard: c doubles of forward sums (and the means after shard 0's),
     * or 2c floats of backward sums */
    out->partials = 4 * (size_t)layer->in_c;
    out->cache = sizeof(float) * ((size_t)max_batch * layer->in_c *
                                      layer->in_h * layer->in_w +
                                  layer->in_c);
}

static void batchnorm_init(nn_layer *layer, nn_rng *rng, float gain2)
{
    int c = layer->in_c;
    (void)rng;
    (void)gain2;
    for (int ch = 0; ch < c; ch++) {
        layer->params[ch] = 1.0f;     /* gamma */
        layer->params[c + ch] = 0.0f; /* beta */
        layer->state[ch] = 0.0f;      /* running mean */
        layer->state[c + ch] = 1.0f;  /* running variance */
    }
}

/* The group's sum of count doubles (or floats), the first failure kept in
 * *ex->group_error. */
static void group_sum(const nn_exec *ex, void *values, size_t count,
                      int doubles)
{
    nn_status st;
    if (!ex->group)
        return;
    st = doubles ? ex->group->sum_double(ex->group->ctx, values, count)
                 : ex->group->sum_float(ex->group->ctx, values, count);
    if (st != NN_OK && *ex->group_error == NN_OK)
        *ex->group_error = st;
}

/* Training mode over a part of a batch: each shard's sums per channel,
 * added as a tree, then across the group; first for the mean, then for
 * the squared deviations from it. ex->partials holds, per shard, c
 * doubles of sums; shard 0 also keeps the means after them. */
static void forward_train_part(nn_layer *layer, const nn_tensor *in,
                               nn_tensor *out, const nn_exec *ex)
{
    int c = in->c, hw = in->h * in->w;
    size_t stride = layer->sizes.partials / 2, count = (size_t)ex->total * hw;
    double *parts = (double *)(void *)ex->partials, *mean = parts + c;
    float *invstd = layer->cache;
    for (int squared = 0; squared <= 1; squared++) {
        for (int s = 0; s < ex->shards; s++)
            for (int ch = 0; ch < c; ch++)
                parts[s * stride + ch] =
                    channel_sum(in->x, squared, squared ? mean[ch] : 0.0,
                                ex->bounds[s], ex->bounds[s + 1], ch, c, hw);
        nn_tree_doubles(parts, ex->shards, stride, (size_t)c);
        group_sum(ex, parts, (size_t)c, 1);
        if (!squared)
            for (int ch = 0; ch < c; ch++)
                mean[ch] = parts[ch] / (double)count;
    }
    for (int ch = 0; ch < c; ch++)
        normalize_channel(in->x, layer->params, layer->params + c, mean[ch],
                          parts[ch], count, out->x, invstd + c, invstd,
                          layer->state, layer->state + c, in->n, ch, c, hw,
                          BN_MOMENTUM, BN_EPS);
}

static void batchnorm_forward(nn_layer *layer, const nn_tensor *in,
                              nn_tensor *out, const nn_exec *ex)
{
    batchnorm_layer *bn = (batchnorm_layer *)layer;
    int c = in->c, hw = in->h * in->w;
    float *invstd = layer->cache;
    float *xhat = invstd + c;
    bn->trained = ex->training;
    if (ex->training)
        forward_train_part(layer, in, out, ex);
    else
        nn_batchnorm_forward_infer(in->x, layer->params, layer->params + c,
                                   layer->state, layer->state + c, out->x,
                                   xhat, invstd, in->n, c, hw, BN_EPS);
}

/* Each shard's two sums per channel, added as a tree: that is this part's
 * gradient of beta and gamma (the trainer adds the parts' up); then dx
 * from the whole batch's sums, added across the group. */
static void batchnorm_backward(nn_layer *layer, const nn_tensor *in,
                               const nn_tensor *out, const nn_exec *ex)
{
    const batchnorm_layer *bn = (const batchnorm_layer *)layer;
    int c = in->c, hw = in->h * in->w;
    const float *invstd = layer->cache;
    const float *xhat = invstd + c;
    size_t stride = layer->sizes.partials;
    float *parts = ex->partials, count = (float)ex->total * (float)hw;
    for (int s = 0; s < ex->shards; s++)
        for (int ch = 0; ch < c; ch++)
            grad_sums(out->g, xhat, ex->bounds[s], ex->bounds[s + 1], ch, c,
                      hw, parts + s * stride + 2 * ch);
    nn_tree_floats(parts, ex->shards, stride, 0, 2 * (size_t)c);
    for (int ch = 0; ch < c; ch++) {
        layer->grads[c + ch] += parts[2 * ch]; /* beta */
        layer->grads[ch] += parts[2 * ch + 1]; /* gamma */
    }
    if (!in->g)
        return;
    group_sum(ex, parts, 2 * (size_t)c, 0);
    for (int ch = 0; ch < c; ch++)
        channel_backward(out->g, xhat, layer->params, invstd, in->g,
                         parts[2 * ch], parts[2 * ch + 1], count, in->n, ch,
                         c, hw, bn->trained);
}

/* Training-mode statistics need two values or more per channel: with one,
 * every output would be beta exactly, nothing before the layer would get a
 * gradient, and the running variance would be pulled to 0 (PyTorch refuses
 * it too). A batch of one after a convolution still has h*w values. */
static nn_status batchnorm_check_batch(const nn_layer *layer, int batch,
                                       int training)
{
    return training && (size_t)batch * layer->in_h * layer->in_w < 2
               ? NN_ESHAPE : NN_OK;
}

/* gamma (c), beta (c); state: running mean (c), running variance (c) */
static int batchnorm_fields(const nn_layer *layer, nn_layer_field *f)
{
    int c = layer->in_c;
    f[0] = (nn_layer_field){"gamma", 0, 1, {c, 0, 0, 0}, 0, (size_t)c, 0};
    f[1] = (nn_layer_field){"beta", 0, 1, {c, 0, 0, 0}, (size_t)c, (size_t)c, 0};
    f[2] = (nn_layer_field){"running_mean", 1, 1, {c, 0, 0, 0}, 0, (size_t)c, 0};
    f[3] = (nn_layer_field){"running_var", 1, 1, {c, 0, 0, 0}, (size_t)c,
                            (size_t)c, 1};
    return 4;
}

/* BatchNormalization with the running statistics (inference) */
static void batchnorm_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                  const char *in, const char *out)
{
    static const char *const what[4] = {"gamma", "beta", "mean", "var"};
    int c = layer->in_c, dims[1] = {c};
    char names[5][64];
    const char *inputs[5] = {names[0], names[1], names[2], names[3], names[4]};
    size_t node;
    snprintf(names[0], sizeof names[0], "%s", in);
    for (int i = 0; i < 4; i++) {
        snprintf(names[i + 1], sizeof names[i + 1], "%s", nn_onnx_name(g, what[i]));
        nn_onnx_initializer(g, names[i + 1], dims, 1,
                            i < 2 ? layer->params + i * c : layer->state + (i - 2) * c);
    }
    node = nn_onnx_node(g, "BatchNormalization", inputs, 5, out);
    nn_onnx_attr_float(g, "epsilon", BN_EPS);
    nn_onnx_node_end(g, node);
}

/* BatchNormalization in inference form with libnn's epsilon: scale, bias,
 * mean and variance initializers of C values each */
static int batchnorm_onnx_import(const nn_onnx_node_in *node,
                                 nn_onnx_layer_in *out)
{
    const nn_onnx_attr *eps = nn_onnx_attr_find(node, "epsilon");
    const nn_onnx_attr *mode = nn_onnx_attr_find(node, "training_mode");
    size_t c = node->n_inputs == 5 && node->init[1] ? node->init[1]->count : 0;
    for (int i = 1; i < 5 && c; i++)
        if (!node->init[i] || node->init[i]->count != c)
            c = 0;
    if (!c || (mode && mode->i != 0)) {
        snprintf(out->why, sizeof out->why, "not in inference form with four "
                 "initializers of one size");
        return 0;
    }
    if (eps && fabsf(eps->f - BN_EPS) > 1e-3f * BN_EPS) {
        snprintf(out->why, sizeof out->why, "epsilon %g: libnn's batchnorm "
                 "uses %g", (double)eps->f, (double)BN_EPS);
        return 0;
    }
    out->n_params = out->n_state = 2 * c;
    out->params = malloc(2 * c * sizeof(float));
    out->state = malloc(2 * c * sizeof(float));
    if (!out->params || !out->state)
        return 0;
    for (int i = 0; i < 4; i++)
        memcpy((i < 2 ? out->params : out->state) + (size_t)(i % 2) * c,
               node->init[i + 1]->values, c * sizeof(float));
    return 1;
}

const nn_layer_kind nn_kind_batchnorm = {
    "batchnorm", "bn", "batchnorm", "bn", NN_KIND_TRANSPARENT,
    sizeof(batchnorm_layer), NULL, NULL, NULL, NULL, batchnorm_fields,
    {nn_layer_same_shape, batchnorm_sizes, batchnorm_init, batchnorm_forward,
     batchnorm_backward, batchnorm_check_batch},
    {0}, NULL, batchnorm_onnx_export, "BatchNormalization",
    batchnorm_onnx_import,
    NULL, /* no multiply-adds counted */
};

nn_status nn_net_add_batchnorm(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_batchnorm, NULL);
}
