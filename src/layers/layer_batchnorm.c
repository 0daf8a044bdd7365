/* Batch normalisation per channel (per feature after a dense layer, whose
 * output is (n, features, 1, 1)). PyTorch's conventions: eps = 1e-5,
 * momentum = 0.1, running variance updated with the unbiased estimate. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

void nn_batchnorm_forward_train(const float *x, const float *gamma,
                                const float *beta, float *y, float *xhat,
                                float *invstd, float *running_mean,
                                float *running_var, int n, int c, int hw,
                                float momentum, float eps)
{
    size_t count = (size_t)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double sum = 0.0, sq = 0.0, mean, var;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++)
                sum += xp[j];
        }
        mean = sum / (double)count;
        for (int i = 0; i < n; i++) {
            const float *xp = x + ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++)
                sq += (xp[j] - mean) * (xp[j] - mean);
        }
        var = sq / (double)count; /* biased: used to normalise */
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

void nn_batchnorm_backward(const float *dy, const float *xhat,
                           const float *gamma, const float *invstd, float *dx,
                           float *dgamma, float *dbeta, int n, int c, int hw,
                           int training)
{
    float count = (float)n * (float)hw;
    for (int ch = 0; ch < c; ch++) {
        float sum_dy = 0.0f, sum_dy_xhat = 0.0f, scale;
        for (int i = 0; i < n; i++) {
            size_t at = ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++) {
                sum_dy += dy[at + j];
                sum_dy_xhat += dy[at + j] * xhat[at + j];
            }
        }
        dbeta[ch] += sum_dy;
        dgamma[ch] += sum_dy_xhat;
        if (!dx)
            continue;
        scale = gamma[ch] * invstd[ch];
        for (int i = 0; i < n; i++) {
            size_t at = ((size_t)i * c + ch) * hw;
            for (int j = 0; j < hw; j++)
                dx[at + j] += training
                    ? scale / count * (count * dy[at + j] - sum_dy -
                                       xhat[at + j] * sum_dy_xhat)
                    : scale * dy[at + j];
        }
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

static void batchnorm_forward(nn_layer *layer, const nn_tensor *in,
                              nn_tensor *out, const nn_exec *ex)
{
    batchnorm_layer *bn = (batchnorm_layer *)layer;
    int c = in->c, hw = in->h * in->w;
    float *invstd = layer->cache;
    float *xhat = invstd + c;
    bn->trained = ex->training;
    if (ex->training)
        nn_batchnorm_forward_train(in->x, layer->params, layer->params + c,
                                   out->x, xhat, invstd, layer->state,
                                   layer->state + c, in->n, c, hw,
                                   BN_MOMENTUM, BN_EPS);
    else
        nn_batchnorm_forward_infer(in->x, layer->params, layer->params + c,
                                   layer->state, layer->state + c, out->x,
                                   xhat, invstd, in->n, c, hw, BN_EPS);
}

static void batchnorm_backward(nn_layer *layer, const nn_tensor *in,
                               const nn_tensor *out, const nn_exec *ex)
{
    const batchnorm_layer *bn = (const batchnorm_layer *)layer;
    int c = in->c;
    const float *invstd = layer->cache;
    const float *xhat = invstd + c;
    (void)ex;
    nn_batchnorm_backward(out->g, xhat, layer->params, invstd, in->g,
                          layer->grads, layer->grads + c, in->n, c,
                          in->h * in->w, bn->trained);
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

const nn_layer_kind nn_kind_batchnorm = {
    "batchnorm", "bn", "batchnorm", "bn", NN_KIND_TRANSPARENT,
    sizeof(batchnorm_layer), NULL, NULL, NULL, NULL, batchnorm_fields,
    {nn_layer_same_shape, batchnorm_sizes, batchnorm_init, batchnorm_forward,
     batchnorm_backward, batchnorm_check_batch},
    {0}, NULL,
};

nn_status nn_net_add_batchnorm(nn_net *net)
{
    return nn_net_add_kind(net, &nn_kind_batchnorm, NULL);
}
