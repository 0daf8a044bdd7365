/* Concatenation along channels of two or more outputs of one height and
 * width: y = (x[0]; x[1]; ...), each sample's channels one input after
 * another. Its gradient is cut back into the inputs' pieces. */
#include "layers/layer.h"

#include <string.h>

/* y (n, sum_k channels[k], hw) from x[k] (n, channels[k], hw). */
void nn_concat_forward(const float *const *x, const int *channels, int inputs,
                       float *y, int n, int hw)
{
    for (int s = 0; s < n; s++)
        for (int k = 0; k < inputs; k++) {
            size_t plane = (size_t)channels[k] * hw;
            memcpy(y, x[k] + s * plane, plane * sizeof(float));
            y += plane;
        }
}

/* dx[k] += dy's channels of input k (dx[k] may be NULL). */
void nn_concat_backward(const float *dy, float *const *dx,
                        const int *channels, int inputs, int n, int hw)
{
    for (int s = 0; s < n; s++)
        for (int k = 0; k < inputs; k++) {
            size_t plane = (size_t)channels[k] * hw;
            float *d = dx[k] ? dx[k] + s * plane : NULL;
            for (size_t i = 0; d && i < plane; i++)
                d[i] += dy[i];
            dy += plane;
        }
}

static nn_status concat_reshape(nn_layer *layer)
{
    long channels = 0;
    for (int k = 0; k < layer->inputs; k++) {
        if (layer->in_shape[k][1] != layer->in_h ||
            layer->in_shape[k][2] != layer->in_w)
            return NN_ESHAPE;
        channels += layer->in_shape[k][0];
    }
    if (channels > (1 << 24))
        return NN_EOVERFLOW;
    layer->out_c = (int)channels;
    layer->out_h = layer->in_h;
    layer->out_w = layer->in_w;
    return NN_OK;
}

/* NN_PIECES groups of samples, one task each. */
typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    int backward;
} concat_job;

static void concat_task(void *p, int task, int thread)
{
    const concat_job *job = p;
    const nn_layer *layer = job->layer;
    const float *x[NN_MAX_INPUTS];
    float *dx[NN_MAX_INPUTS];
    int channels[NN_MAX_INPUTS], first, last, hw = job->out->h * job->out->w;
    size_t out_sample = (size_t)job->out->c * hw;
    (void)thread;
    nn_split(job->out->n, NN_PIECES, task, &first, &last);
    if (last == first)
        return;
    for (int k = 0; k < layer->inputs; k++) {
        size_t in_sample = (size_t)layer->in_shape[k][0] * hw;
        channels[k] = layer->in_shape[k][0];
        x[k] = job->in[k].x + first * in_sample;
        dx[k] = job->in[k].g ? job->in[k].g + first * in_sample : NULL;
    }
    if (job->backward)
        nn_concat_backward(job->out->g + first * out_sample, dx, channels,
                           layer->inputs, last - first, hw);
    else
        nn_concat_forward(x, channels, layer->inputs,
                          job->out->x + first * out_sample, last - first, hw);
}

static void concat_forward(nn_layer *layer, const nn_tensor *in,
                           nn_tensor *out, const nn_exec *ex)
{
    concat_job job = {layer, in, out, 0};
    nn_pool_run(ex->pool, NN_PIECES, concat_task, &job);
}

static void concat_backward(nn_layer *layer, const nn_tensor *in,
                            const nn_tensor *out, const nn_exec *ex)
{
    concat_job job = {layer, in, out, 1};
    nn_pool_run(ex->pool, NN_PIECES, concat_task, &job);
}

const nn_layer_kind nn_kind_concat = {
    .name = "concat",
    .flags = NN_KIND_JOIN | NN_KIND_TRANSPARENT,
    .object_size = sizeof(nn_layer),
    .spec = {.token = "concat", .grammar = "concat(NAME[,NAME...])"},
    .ops = {.reshape = concat_reshape, .forward = concat_forward,
            .backward = concat_backward},
};
