/* Batch normalisation per channel (per feature after a dense layer, whose
 * output is (n, features, 1, 1)). PyTorch's conventions: eps = 1e-5 unless
 * the layer's args.eps says otherwise (Keras uses 1e-3), momentum = 0.1,
 * running variance updated with the unbiased estimate. */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#define BN_SSE2 1
#endif

#define BN_MOMENTUM 0.1f

/* Partial sums kept side by side in the channel sums: independent
 * additions the CPU overlaps, where one running sum would wait for each
 * addition in turn. Value j of a plane goes to lane j % BN_LANES and the
 * lanes are added pairwise at the end, so a sum depends on the shape only. */
#define BN_LANES 8

/* Sum over samples [first, last) and positions of channel ch of x
 * (n, c, hw): of x (squared = 0, mean = 0) or of (x - mean)^2
 * (squared = 1), in double. */
static double channel_sum(const float *x, int squared, double mean, int first,
                          int last, int ch, int c, int hw)
{
    double lane[BN_LANES] = {0.0};
    for (int i = first; i < last; i++) {
        const float *xp = x + ((size_t)i * c + ch) * hw;
        int j = 0;
        for (; j + BN_LANES <= hw; j += BN_LANES)
            for (int k = 0; k < BN_LANES; k++) {
                double d = xp[j + k] - mean;
                lane[k] += squared ? d * d : d;
            }
        for (int k = 0; j + k < hw; k++) {
            double d = xp[j + k] - mean;
            lane[k] += squared ? d * d : d;
        }
    }
    for (int width = BN_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++)
            lane[k] += lane[k + width];
    return lane[0];
}

/* Sums over samples [first, last) and positions of channel ch of x
 * (n, c, hw), shifted by `shift`, in double and in one read:
 * moments[0] = sum (x - shift), moments[1] = sum (x - shift)^2. With the
 * shift near the mean, var = moments[1] / count - (moments[0] / count)^2
 * cancels little; in double it stays exact to far below float's rounding
 * for any shift whose squared distance to the mean is below ~1e8 var. */
static void channel_moments(const float *x, double shift, int first, int last,
                            int ch, int c, int hw, double *moments)
{
    double lane[BN_LANES] = {0.0}, lane_sq[BN_LANES] = {0.0};
    for (int i = first; i < last; i++) {
        const float *xp = x + ((size_t)i * c + ch) * hw;
        int j = 0;
        for (; j + BN_LANES <= hw; j += BN_LANES)
            for (int k = 0; k < BN_LANES; k++) {
                double d = xp[j + k] - shift;
                lane[k] += d;
                lane_sq[k] += d * d;
            }
        for (int k = 0; j + k < hw; k++) {
            double d = xp[j + k] - shift;
            lane[k] += d;
            lane_sq[k] += d * d;
        }
    }
    for (int width = BN_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) {
            lane[k] += lane[k + width];
            lane_sq[k] += lane_sq[k + width];
        }
    moments[0] = lane[0];
    moments[1] = lane_sq[0];
}

/* One plane of hw values: xhat = (x - mean) invstd, y = gamma xhat + beta;
 * xhat is kept only when asked (the layer recomputes it from x). */
static void normalize_plane(const float *restrict x, float *restrict y,
                            float *restrict xhat, float mean, float invstd,
                            float gamma, float beta, int hw)
{
    if (xhat)
        for (int j = 0; j < hw; j++) {
            xhat[j] = (x[j] - mean) * invstd;
            y[j] = gamma * xhat[j] + beta;
        }
    else
        for (int j = 0; j < hw; j++)
            y[j] = gamma * ((x[j] - mean) * invstd) + beta;
}

/* The same plane with the relu that follows applied: y = relu(gamma xhat
 * + beta), relu(v) = v if v > 0 or NaN, else 0, the very select of
 * nn_relu_forward, so the values are those of the two layers run apart. */
static void normalize_plane_relu(const float *restrict x, float *restrict y,
                                 float mean, float invstd, float gamma,
                                 float beta, int hw)
{
    for (int j = 0; j < hw; j++) {
        float v = gamma * ((x[j] - mean) * invstd) + beta;
        y[j] = v > 0.0f || v != v ? v : 0.0f;
    }
}

/* The batch's statistics of channel ch from its mean and squared
 * deviations sq over count values: invstd from the biased variance, and
 * the running statistics moved towards the mean and the unbiased one. */
static float channel_stats(double mean, double sq, size_t count,
                           float *running_mean, float *running_var,
                           float momentum, float eps)
{
    double var = sq / (double)count;
    *running_mean = (1.0f - momentum) * *running_mean + momentum * (float)mean;
    *running_var = (1.0f - momentum) * *running_var +
                   momentum * (float)(count > 1 ? sq / (double)(count - 1) : var);
    return (float)(1.0 / sqrt(var + eps));
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
        invstd[ch] = channel_stats(mean, sq, count, running_mean + ch,
                                   running_var + ch, momentum, eps);
        for (int i = 0; i < n; i++) {
            size_t at = ((size_t)i * c + ch) * hw;
            normalize_plane(x + at, y + at, xhat + at, (float)mean, invstd[ch],
                            gamma[ch], beta[ch], hw);
        }
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
            normalize_plane(x + at, y + at, xhat + at, running_mean[ch],
                            invstd[ch], gamma[ch], beta[ch], hw);
        }
}

/* The gradient reaching the batchnorm through the relu after it, one
 * value: dy [relu_y > 0], as relu's backward makes it. */
static inline float relu_masked(float dy, float relu_y)
{
    return relu_y > 0.0f ? dy : 0.0f;
}

/* Lanes of the two sums of backward, for one channel: BN_LANES partial
 * sums each of dy and of dy xhat. */
typedef struct {
    float dy[BN_LANES], dy_xhat[BN_LANES];
} grad_lanes;

/* One plane of hw values into a channel's lanes, with
 * xhat = (x - mean) invstd (x = xhat itself with mean 0, invstd 1): value
 * j adds g_j to lanes->dy[j % BN_LANES] and g_j xhat_j to
 * lanes->dy_xhat[j % BN_LANES], in the order of j. g = dy, or with relu_y,
 * the output of a relu applied after the layer whose output gradient dy
 * is, g = dy [relu_y > 0]. The portable form, which the layer runs apart
 * from its relu and with the reference kernels. */
static void grad_plane(const float *dy, const float *relu_y, const float *x,
                       float mean, float invstd, int hw, grad_lanes *lanes)
{
    int j = 0;
    if (relu_y)
        for (; j + BN_LANES <= hw; j += BN_LANES) {
            /* masked first, then summed as below: GCC vectorises the two
             * short loops along k */
            float g[BN_LANES];
            for (int k = 0; k < BN_LANES; k++)
                g[k] = relu_masked(dy[j + k], relu_y[j + k]);
            for (int k = 0; k < BN_LANES; k++) {
                lanes->dy[k] += g[k];
                lanes->dy_xhat[k] += g[k] * ((x[j + k] - mean) * invstd);
            }
        }
    else
        for (; j + BN_LANES <= hw; j += BN_LANES)
            for (int k = 0; k < BN_LANES; k++) {
                lanes->dy[k] += dy[j + k];
                lanes->dy_xhat[k] += dy[j + k] * ((x[j + k] - mean) * invstd);
            }
    for (int k = 0; j + k < hw; k++) {
        float g = relu_y ? relu_masked(dy[j + k], relu_y[j + k]) : dy[j + k];
        lanes->dy[k] += g;
        lanes->dy_xhat[k] += g * ((x[j + k] - mean) * invstd);
    }
}

#ifdef BN_SSE2
/* grad_plane with relu_y, in SSE2 (part of every x86-64): lanes 0-3 and
 * 4-7 of each sum in two registers for the whole plane, the mask one
 * compare and one and (dy where relu_y > 0, else +0, as relu_masked), the
 * products and sums the same float operations in the same order per lane,
 * so the same bits as grad_plane. GCC's own vectorisation of grad_plane's
 * masked loop shuffles scalars into vectors, which made the fused
 * backward slower than batchnorm and relu apart on small planes. */
static void grad_plane_relu_sse2(const float *dy, const float *relu_y,
                                 const float *x, float mean, float invstd,
                                 int hw, grad_lanes *lanes)
{
    const __m128 zero = _mm_setzero_ps(), vmean = _mm_set1_ps(mean);
    const __m128 vinvstd = _mm_set1_ps(invstd);
    __m128 sum_lo = _mm_loadu_ps(lanes->dy);
    __m128 sum_hi = _mm_loadu_ps(lanes->dy + 4);
    __m128 prod_lo = _mm_loadu_ps(lanes->dy_xhat);
    __m128 prod_hi = _mm_loadu_ps(lanes->dy_xhat + 4);
    int j = 0;
    for (; j + BN_LANES <= hw; j += BN_LANES) {
        __m128 g_lo = _mm_and_ps(
            _mm_cmpgt_ps(_mm_loadu_ps(relu_y + j), zero),
            _mm_loadu_ps(dy + j));
        __m128 g_hi = _mm_and_ps(
            _mm_cmpgt_ps(_mm_loadu_ps(relu_y + j + 4), zero),
            _mm_loadu_ps(dy + j + 4));
        __m128 xhat_lo = _mm_mul_ps(
            _mm_sub_ps(_mm_loadu_ps(x + j), vmean), vinvstd);
        __m128 xhat_hi = _mm_mul_ps(
            _mm_sub_ps(_mm_loadu_ps(x + j + 4), vmean), vinvstd);
        sum_lo = _mm_add_ps(sum_lo, g_lo);
        sum_hi = _mm_add_ps(sum_hi, g_hi);
        prod_lo = _mm_add_ps(prod_lo, _mm_mul_ps(g_lo, xhat_lo));
        prod_hi = _mm_add_ps(prod_hi, _mm_mul_ps(g_hi, xhat_hi));
    }
    _mm_storeu_ps(lanes->dy, sum_lo);
    _mm_storeu_ps(lanes->dy + 4, sum_hi);
    _mm_storeu_ps(lanes->dy_xhat, prod_lo);
    _mm_storeu_ps(lanes->dy_xhat + 4, prod_hi);
    for (int k = 0; j + k < hw; k++) {
        float g = relu_masked(dy[j + k], relu_y[j + k]);
        lanes->dy[k] += g;
        lanes->dy_xhat[k] += g * ((x[j + k] - mean) * invstd);
    }
}
#endif

/* The lanes added pairwise: sums[0] = sum dy, sums[1] = sum dy xhat. */
static void grad_lanes_sum(grad_lanes *lanes, float *sums)
{
    for (int width = BN_LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) {
            lanes->dy[k] += lanes->dy[k + width];
            lanes->dy_xhat[k] += lanes->dy_xhat[k + width];
        }
    sums[0] = lanes->dy[0];
    sums[1] = lanes->dy_xhat[0];
}

/* The two sums of backward for channels [ch, ch + count) over samples
 * [first, last), each channel's planes in sample order (the sums do not
 * depend on count): sums[2 k] = sum dy, sums[2 k + 1] = sum dy xhat of
 * channel ch + k, in float, in BN_LANES lanes. Going sample by sample
 * over a few channels reads runs of count hw values, not of hw. */
#define BN_GRAD_CHANNELS 8
static void grad_sums(const float *dy, const float *relu_y, const float *x,
                      const float *mean, const float *invstd, int first,
                      int last, int ch, int count, int c, int hw,
                      float *sums)
{
    grad_lanes lanes[BN_GRAD_CHANNELS];
    memset(lanes, 0, sizeof lanes);
    for (int i = first; i < last; i++)
        for (int k = 0; k < count; k++) {
            size_t at = ((size_t)i * c + ch + k) * hw;
#ifdef BN_SSE2
            if (relu_y) {
                grad_plane_relu_sse2(dy + at, relu_y + at, x + at,
                                     mean[ch + k], invstd[ch + k], hw,
                                     &lanes[k]);
                continue;
            }
#endif
            grad_plane(dy + at, relu_y ? relu_y + at : NULL, x + at,
                       mean[ch + k], invstd[ch + k], hw, &lanes[k]);
        }
    for (int k = 0; k < count; k++)
        grad_lanes_sum(&lanes[k], sums + 2 * k);
}

/* dx of channel ch over samples [first, last) from the batch's sums (over
 * count values), xhat as in grad_sums: in training mode
 * dx += gamma invstd / count (count dy - sum dy - xhat sum dy xhat), else
 * dx += gamma invstd dy. Both are dx += a dy + b x + d with a, b and d
 * made once per channel: two multiply-adds per value. With relu_y, dy is
 * masked as in grad_sums. */
static void channel_backward(const float *restrict dy,
                             const float *restrict relu_y,
                             const float *restrict x, float mean,
                             float xhat_scale, float scale,
                             float *restrict dx, float sum_dy,
                             float sum_dy_xhat, float count, int first,
                             int last, int ch, int c, int hw, int training,
                             int add)
{
    float a = scale, b = 0.0f, d = 0.0f;
    if (training) {
        b = -scale / count * xhat_scale * sum_dy_xhat;
        d = -scale / count * sum_dy - b * mean;
    }
    for (int i = first; i < last; i++) {
        size_t at = ((size_t)i * c + ch) * hw;
        if (relu_y && add)
            for (int j = 0; j < hw; j++)
                dx[at + j] += a * relu_masked(dy[at + j], relu_y[at + j]) +
                              (b * x[at + j] + d);
        else if (relu_y)
            for (int j = 0; j < hw; j++)
                dx[at + j] = a * relu_masked(dy[at + j], relu_y[at + j]) +
                             (b * x[at + j] + d);
        else if (add)
            for (int j = 0; j < hw; j++)
                dx[at + j] += a * dy[at + j] + (b * x[at + j] + d);
        else
            for (int j = 0; j < hw; j++)
                dx[at + j] = a * dy[at + j] + (b * x[at + j] + d);
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
        grad_lanes lanes;
        memset(&lanes, 0, sizeof lanes);
        for (int i = 0; i < n; i++) {
            size_t at = ((size_t)i * c + ch) * hw;
            grad_plane(dy + at, NULL, xhat + at, 0.0f, 1.0f, hw, &lanes);
        }
        grad_lanes_sum(&lanes, sums);
        dbeta[ch] += sums[0];
        dgamma[ch] += sums[1];
        if (dx)
            channel_backward(dy, NULL, xhat, 0.0f, 1.0f,
                             gamma[ch] * invstd[ch], dx, sums[0], sums[1],
                             count, 0, n, ch, c, hw, training, 1);
    }
}

/* Cache layout: invstd (c), then mean (c): the statistics the last forward
 * normalised with. Backward recomputes xhat from the layer's input, which
 * the net keeps, rather than storing a copy of the input's size. */
typedef struct {
    nn_layer base;
    int trained; /* mode of the last forward: picks the backward formula */
} batchnorm_layer;

static void batchnorm_sizes(const nn_layer *layer, int max_batch,
                            nn_layer_sizes *out)
{
    (void)max_batch;
    out->params = 2 * (size_t)layer->in_c; /* gamma, beta */
    out->decayed = 0;
    out->state = 2 * (size_t)layer->in_c; /* running mean, running var */
    /* per shard: 2c doubles of forward sums, or 2c floats of backward
     * sums */
    out->partials = 4 * (size_t)layer->in_c;
    out->cache = sizeof(float) * 2 * (size_t)layer->in_c;
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

/* The passes over the activations, each cut into NN_PIECES tasks by
 * channel: every sum is one channel's over one shard, made by one task in
 * a fixed order, so no result depends on the number of threads. */
typedef enum {
    BN_MOMENTS,   /* per shard and channel: sum of x - shift and of its
                     square, shift = the cached mean slot */
    BN_SUMS,      /* reference: per shard and channel: sum of x */
    BN_SQUARES,   /* reference: per shard and channel: sum of (x - mean)^2 */
    BN_NORMALIZE, /* y from x with the cached mean and invstd (and the
                     relu after the layer when it applies it) */
    BN_GRAD_SUMS, /* per shard and channel: sum dy, sum dy xhat */
    BN_GRAD_INPUT /* dx from the batch's gradient sums */
} bn_pass;

typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    const nn_exec *ex;
    bn_pass pass;
    int trained;
} bn_job;

static void batchnorm_task(void *p, int task, int thread)
{
    const bn_job *job = p;
    const nn_layer *layer = job->layer;
    const nn_exec *ex = job->ex;
    const nn_tensor *in = job->in, *out = job->out;
    int c = in->c, hw = in->h * in->w, first, last;
    const float *gamma = layer->params, *beta = gamma + c;
    const float *invstd = layer->cache, *mean = invstd + c;
    /* the relu's output (n, c, hw) when the layer applies it */
    const float *relu_y = layer->relu_applied ? out->x : NULL;
    size_t stride = layer->sizes.partials;
    double *sums = (double *)(void *)ex->partials;
    float *gsums = ex->partials;
    float count = (float)ex->batch->total * (float)hw;
    (void)thread;
    nn_split(c, NN_PIECES, task, &first, &last);
    /* The element-wise passes go sample by sample, where the task's
     * channels are one contiguous run of memory, rather than channel by
     * channel (runs of hw values, a sample apart); each value is computed
     * alone, so the order changes nothing in the results. */
    for (int i = 0; i < in->n && job->pass == BN_NORMALIZE; i++)
        for (int ch = first; ch < last; ch++) {
            size_t at = ((size_t)i * c + ch) * hw;
            if (relu_y)
                normalize_plane_relu(in->x + at, out->x + at, mean[ch],
                                     invstd[ch], gamma[ch], beta[ch], hw);
            else
                normalize_plane(in->x + at, out->x + at, NULL, mean[ch],
                                invstd[ch], gamma[ch], beta[ch], hw);
        }
    for (int i = 0; i < in->n && job->pass == BN_GRAD_INPUT; i++)
        for (int ch = first; ch < last; ch++)
            channel_backward(out->g, relu_y, in->x, mean[ch], invstd[ch],
                             gamma[ch] * invstd[ch], in->g, gsums[2 * ch],
                             gsums[2 * ch + 1], count, i, i + 1, ch, c, hw,
                             job->trained, 0);
    if (job->pass == BN_NORMALIZE || job->pass == BN_GRAD_INPUT)
        return;
    for (int ch = first; ch < last && job->pass == BN_GRAD_SUMS;
         ch += BN_GRAD_CHANNELS)
        for (int s = 0; s < ex->batch->shards; s++)
            grad_sums(out->g, relu_y, in->x, mean, invstd,
                      ex->batch->bounds[s], ex->batch->bounds[s + 1], ch,
                      last - ch < BN_GRAD_CHANNELS ? last - ch
                                                   : BN_GRAD_CHANNELS,
                      c, hw, gsums + s * stride + 2 * ch);
    if (job->pass == BN_GRAD_SUMS)
        return;
    for (int ch = first; ch < last; ch++)
        for (int s = 0; s < ex->batch->shards; s++) {
            int lo = ex->batch->bounds[s], hi = ex->batch->bounds[s + 1];
            double moments[2];
            if (job->pass == BN_MOMENTS) {
                channel_moments(in->x, mean[ch], lo, hi, ch, c, hw,
                                moments);
                sums[s * stride / 2 + ch] = moments[0];
                sums[s * stride / 2 + c + ch] = moments[1];
            } else
                sums[s * stride / 2 + ch] = channel_sum(
                    in->x, job->pass == BN_SQUARES,
                    job->pass == BN_SQUARES ? sums[c + ch] : 0.0, lo, hi,
                    ch, c, hw);
        }
}

static void batchnorm_run(const bn_job *job, bn_pass pass)
{
    bn_job run = *job;
    run.pass = pass;
    nn_pool_run(job->ex->pool, NN_PIECES, batchnorm_task, &run);
}

/* The reference statistics (NN_KERNELS_REFERENCE), in two reads: each
 * shard's sums per channel, added as a tree, then across the group; first
 * for the mean, then for the squared deviations from it. ex->partials
 * holds, per shard, c doubles of sums; shard 0 also keeps the means after
 * them. *sq gets sum (x - mean)^2 per channel (c), *batch_mean the means. */
static void batchnorm_stats_two_pass(const bn_job *job, size_t count,
                                     double **sq, double **batch_mean)
{
    const nn_exec *ex = job->ex;
    int c = job->in->c;
    size_t stride = job->layer->sizes.partials / 2;
    double *sums = (double *)(void *)ex->partials;
    *batch_mean = sums + c; /* partials exist in training mode only */
    for (int squared = 0; squared <= 1; squared++) {
        batchnorm_run(job, squared ? BN_SQUARES : BN_SUMS);
        nn_tree_doubles(sums, ex->batch->shards, stride, (size_t)c);
        nn_batch_group_sum(ex->batch, sums, (size_t)c, 1);
        if (!squared)
            for (int ch = 0; ch < c; ch++)
                (*batch_mean)[ch] = sums[ch] / (double)count;
    }
    *sq = sums;
}

/* The statistics in one read: per shard and channel the sum s1 of
 * x - shift and s2 of its square (shift = the running mean, which every
 * process and any thread count share: 0 if it is not finite), added as a
 * tree, then across the group; mean = shift + s1 / count and
 * sum (x - mean)^2 = s2 - s1^2 / count (at least 0). ex->partials holds,
 * per shard, s1 (c) then s2 (c) in doubles; shard 0's are overwritten by
 * sum (x - mean)^2 (c), then the means (c). */
static void batchnorm_stats_one_pass(const bn_job *job, size_t count,
                                     double **sq, double **batch_mean)
{
    const nn_exec *ex = job->ex;
    const nn_layer *layer = job->layer;
    int c = job->in->c;
    size_t stride = layer->sizes.partials / 2;
    double *sums = (double *)(void *)ex->partials;
    float *shift = (float *)layer->cache + c; /* the cache's mean slot */
    for (int ch = 0; ch < c; ch++)
        shift[ch] = isfinite(layer->state[ch]) ? layer->state[ch] : 0.0f;
    batchnorm_run(job, BN_MOMENTS);
    nn_tree_doubles(sums, ex->batch->shards, stride, 2 * (size_t)c);
    nn_batch_group_sum(ex->batch, sums, 2 * (size_t)c, 1);
    for (int ch = 0; ch < c; ch++) {
        double s1 = sums[ch], s2 = sums[c + ch];
        double centred = s2 - s1 * (s1 / (double)count);
        sums[c + ch] = (double)shift[ch] + s1 / (double)count; /* mean */
        sums[ch] = centred < 0.0 ? 0.0 : centred; /* NaN stays NaN */
    }
    *sq = sums;
    *batch_mean = sums + c;
}

/* Training mode over some shards of a batch: the batch's mean and biased
 * variance per channel (in one read, or two with the reference kernels),
 * the running statistics moved, then the normalising pass; inference mode
 * normalises with the running statistics. When the net tells the layer to
 * apply the relu after it (layer->relu_applied), `out` is that relu's
 * output and gets relu(y); the layer's own output is not written. */
static void batchnorm_forward(nn_layer *layer, const nn_tensor *in,
                              nn_tensor *out, const nn_exec *ex)
{
    batchnorm_layer *bn = (batchnorm_layer *)layer;
    int c = in->c;
    size_t count = (size_t)ex->batch->total * in->h * in->w;
    double *sq, *batch_mean;
    float *invstd = layer->cache, *mean = invstd + c;
    float *running_mean = layer->state, *running_var = running_mean + c;
    bn_job job = {layer, in, out, ex, BN_SUMS, ex->training};
    bn->trained = ex->training;
    if (!ex->training) {
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = running_mean[ch];
            invstd[ch] = 1.0f / sqrtf(running_var[ch] + layer->args.eps);
        }
        batchnorm_run(&job, BN_NORMALIZE);
        return;
    }
    if (ex->kernels == NN_KERNELS_REFERENCE)
        batchnorm_stats_two_pass(&job, count, &sq, &batch_mean);
    else
        batchnorm_stats_one_pass(&job, count, &sq, &batch_mean);
    for (int ch = 0; ch < c; ch++) {
        mean[ch] = (float)batch_mean[ch];
        invstd[ch] = channel_stats(batch_mean[ch], sq[ch], count,
                                   running_mean + ch, running_var + ch,
                                   BN_MOMENTUM, layer->args.eps);
    }
    batchnorm_run(&job, BN_NORMALIZE);
}

/* Each shard's two sums per channel, added as a tree: that is these
 * shards' gradient of beta and gamma (the trainer adds the processes' up);
 * then dx from the whole batch's sums, added across the group. When the
 * last forward applied the relu after the layer, `out` is that relu's
 * output and gradient, and dy = out->g [out->x > 0] in both passes. */
static void batchnorm_backward(nn_layer *layer, const nn_tensor *in,
                               const nn_tensor *out, const nn_exec *ex)
{
    const batchnorm_layer *bn = (const batchnorm_layer *)layer;
    int c = in->c;
    float *sums = ex->partials;
    bn_job job = {layer, in, out, ex, BN_GRAD_SUMS, bn->trained};
    batchnorm_run(&job, BN_GRAD_SUMS);
    nn_tree_floats(sums, ex->batch->shards, layer->sizes.partials, 0,
                   2 * (size_t)c);
    for (int ch = 0; ch < c; ch++) {
        layer->grads[c + ch] += sums[2 * ch]; /* beta */
        layer->grads[ch] += sums[2 * ch + 1]; /* gamma */
    }
    if (!in->g)
        return;
    nn_batch_group_sum(ex->batch, sums, 2 * (size_t)c, 0);
    batchnorm_run(&job, BN_GRAD_INPUT);
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

/* Inference mode's map of channel ch, as normalize_plane computes it up
 * to rounding: y = gamma (x - mean) invstd + beta = scale x + shift with
 * scale = gamma invstd, shift = beta - mean scale. */
static void batchnorm_channel_affine(const nn_layer *layer, int ch,
                                     float *scale, float *shift)
{
    int c = layer->in_c;
    float invstd = 1.0f / sqrtf(layer->state[c + ch] + layer->args.eps);
    *scale = layer->params[ch] * invstd;
    *shift = layer->params[c + ch] - layer->state[ch] * *scale;
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

/* bn[epsE], after "bn": the epsilon E in (0, 1] (default 1e-5) */
static int batchnorm_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return !nn_spec_accept(c, "eps") ||
           nn_spec_float_positive(c, "epsilon", 1.0f, &a->eps);
}

/* bn for the default epsilon, else bneps and the epsilon */
static int batchnorm_print(const nn_layer_args *a, char *buf, size_t size)
{
    if (a->eps == NN_BATCHNORM_EPS)
        return snprintf(buf, size, "bn");
    return nn_spec_print_float(buf, size, "bneps", a->eps);
}

static nn_status batchnorm_check(const nn_layer_args *a)
{
    return a->eps > 0.0f && a->eps <= 1.0f ? NN_OK : NN_EINVAL;
}

const nn_layer_kind nn_kind_batchnorm = {
    .name = "batchnorm",
    .flags = NN_KIND_TRANSPARENT | NN_KIND_SETS_INPUT_GRAD |
             NN_KIND_FUSES_RELU_TRAINING,
    .object_size = sizeof(batchnorm_layer),
    .spec = {.token = "bn", .alias = "batchnorm", .grammar = "bn[epsE]",
             .parse = batchnorm_parse, .print = batchnorm_print,
             .check = batchnorm_check,
             .defaults = {.eps = NN_BATCHNORM_EPS}},
    .ops = {.reshape = nn_layer_same_shape, .sizes = batchnorm_sizes,
            .init = batchnorm_init, .forward = batchnorm_forward,
            .backward = batchnorm_backward,
            .check_batch = batchnorm_check_batch,
            .channel_affine = batchnorm_channel_affine},
    .describe = {.fields = batchnorm_fields},
};
