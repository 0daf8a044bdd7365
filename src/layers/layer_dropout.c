/* Inverted dropout with a counter-based generator: whether element i of a
 * pass is kept depends only on (key, i), so a mask is the same however the
 * work is split between threads or calls. The caller derives key from
 * (seed, step). Kept values are scaled by 1 / (1 - rate), so the expected
 * output equals the input and inference needs no dropout at all. */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* mask[i] = [u >= rate], u = (top 24 bits of mix64(mix64(key) + j G)) / 2^24
 * for element j = first + i, G = 2^64 / phi the golden-ratio constant; key
 * is mixed first so that two keys do not give masks that are shifts of one
 * another (key2 = key1 + d G would, without it). */
void nn_dropout_mask(uint64_t key, size_t first, size_t count, float rate,
                     uint8_t *mask)
{
    const uint64_t base = nn_mix64(key);
    for (size_t i = 0; i < count; i++) {
        uint64_t bits = nn_mix64(base + (uint64_t)(first + i) * NN_GOLDEN64);
        float u = (float)(bits >> 40) * 0x1p-24f; /* exact: 24 bits */
        mask[i] = u >= rate;
    }
}

/* y = x * mask / (1 - rate); a dropped infinity or NaN gives NaN (as x * 0) */
void nn_dropout_forward(const float *restrict x, const uint8_t *restrict mask,
                        float *restrict y, size_t count, float rate)
{
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] * ((float)mask[i] * scale);
}

/* dx += dy * mask / (1 - rate) */
void nn_dropout_backward(const uint8_t *restrict mask,
                         const float *restrict dy, float *restrict dx,
                         size_t count, float rate)
{
    const float scale = 1.0f / (1.0f - rate);
    for (size_t i = 0; i < count; i++)
        dx[i] += dy[i] * ((float)mask[i] * scale);
}

/* The layer: in training mode a fresh mask per pass, drawn from the net's
 * noise key (seed, step) and each value's index in the whole batch (of
 * which a part may be on another process), kept in the
 * cache for backward; in inference mode the identity. */
typedef struct {
    nn_layer base;
    int trained; /* mode of the last forward: picks the backward formula */
} dropout_layer;

/* NN_PIECES slices of the tensor, one task each; the mask of a value
 * depends on its index only, so any split gives the same result. */
typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    uint64_t key;
    size_t offset; /* the whole batch's index of this part's first value */
    int trained, backward;
} dropout_job;

static void dropout_task(void *p, int task, int thread)
{
    const dropout_job *job = p;
    float rate = job->layer->args.rate;
    uint8_t *mask = job->layer->cache; /* (n, c, h, w) */
    size_t first, last;
    (void)thread;
    nn_split_size(nn_tensor_count(job->in), NN_PIECES, task, &first, &last);
    if (job->backward && job->trained)
        nn_dropout_backward(mask + first, job->out->g + first,
                            job->in->g + first, last - first, rate);
    else if (job->backward)
        for (size_t i = first; i < last; i++)
            job->in->g[i] += job->out->g[i];
    else if (job->trained) {
        nn_dropout_mask(job->key, job->offset + first, last - first, rate,
                        mask + first);
        nn_dropout_forward(job->in->x + first, mask + first,
                           job->out->x + first, last - first, rate);
    } else
        memcpy(job->out->x + first, job->in->x + first,
               (last - first) * sizeof(float));
}

static void dropout_forward(nn_layer *layer, const nn_tensor *in,
                            nn_tensor *out, const nn_exec *ex)
{
    size_t per_sample = (size_t)in->c * in->h * in->w;
    dropout_job job = {layer, in, out, ex->noise_key,
                       (size_t)ex->batch->offset * per_sample, ex->training, 0};
    ((dropout_layer *)layer)->trained = ex->training;
    nn_pool_run(ex->pool, NN_PIECES, dropout_task, &job);
}

static void dropout_backward(nn_layer *layer, const nn_tensor *in,
                             const nn_tensor *out, const nn_exec *ex)
{
    dropout_job job = {layer, in, out, 0, 0, ((dropout_layer *)layer)->trained, 1};
    if (in->g)
        nn_pool_run(ex->pool, NN_PIECES, dropout_task, &job);
}

/* one mask byte per value of a batch */
static void dropout_sizes(const nn_layer *layer, int max_batch,
                          nn_layer_sizes *out)
{
    out->cache = (size_t)max_batch * layer->in_c * layer->in_h * layer->in_w;
}

/* dropout[R], after "dropout": the rate R in [0, 1) (default 0.5) */
static int dropout_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return c->p == c->end || nn_spec_float(c, "rate", 0.0f, 1.0f, &a->rate);
}

/* dropout and the rate */
static int dropout_print(const nn_layer_args *a, char *buf, size_t size)
{
    return nn_spec_print_float(buf, size, "dropout", a->rate);
}

static nn_status dropout_check(const nn_layer_args *a)
{
    return a->rate >= 0.0f && a->rate < 1.0f ? NN_OK : NN_EINVAL;
}

const nn_layer_kind nn_kind_dropout = {
    .name = "dropout",
    .flags = NN_KIND_TRANSPARENT,
    .object_size = sizeof(dropout_layer),
    .spec = {.token = "dropout", .grammar = "dropout[R]",
             .parse = dropout_parse, .print = dropout_print,
             .check = dropout_check, .defaults = {.rate = 0.5f}},
    .ops = {.reshape = nn_layer_same_shape, .sizes = dropout_sizes,
            .forward = dropout_forward, .backward = dropout_backward},
};
