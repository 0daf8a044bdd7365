/* Element-wise sum of two or more outputs of one shape: the residual
 * connection y = x + F(x). Its gradient flows unchanged to every input. */
#include "layers/layer.h"

#include <stdio.h>

/* y = sum_k x[k] over count elements, the inputs added in order. */
void nn_add_forward(const float *const *x, int inputs, float *y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float sum = x[0][i];
        for (int k = 1; k < inputs; k++)
            sum += x[k][i];
        y[i] = sum;
    }
}

/* dx[k] += dy for every input k (dx[k] may be NULL). Two inputs may be the
 * same tensor: it then receives dy twice. */
void nn_add_backward(const float *dy, float *const *dx, int inputs,
                     size_t count)
{
    for (int k = 0; k < inputs; k++)
        for (size_t i = 0; dx[k] && i < count; i++)
            dx[k][i] += dy[i];
}

static nn_status add_reshape(nn_layer *layer)
{
    for (int k = 1; k < layer->inputs; k++)
        for (int d = 0; d < 3; d++)
            if (layer->in_shape[k][d] != layer->in_shape[0][d])
                return NN_ESHAPE;
    return nn_layer_same_shape(layer);
}

/* NN_PIECES slices of the output, one task each. */
typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    int backward;
} add_job;

static void add_task(void *p, int task, int thread)
{
    const add_job *job = p;
    const float *x[NN_MAX_INPUTS];
    float *dx[NN_MAX_INPUTS];
    int inputs = job->layer->inputs;
    size_t first, last;
    (void)thread;
    nn_split_size(nn_tensor_count(job->out), NN_PIECES, task, &first, &last);
    for (int k = 0; k < inputs; k++) {
        x[k] = job->in[k].x + first;
        dx[k] = job->in[k].g ? job->in[k].g + first : NULL;
    }
    if (job->backward)
        nn_add_backward(job->out->g + first, dx, inputs, last - first);
    else
        nn_add_forward(x, inputs, job->out->x + first, last - first);
}

static void add_forward(nn_layer *layer, const nn_tensor *in, nn_tensor *out,
                        const nn_exec *ex)
{
    add_job job = {layer, in, out, 0};
    nn_pool_run(ex->pool, NN_PIECES, add_task, &job);
}

static void add_backward(nn_layer *layer, const nn_tensor *in,
                         const nn_tensor *out, const nn_exec *ex)
{
    add_job job = {layer, in, out, 1};
    nn_pool_run(ex->pool, NN_PIECES, add_task, &job);
}

/* Initialisation looks through an add to the activation after it: the
 * convolution that ends a residual branch is followed by relu. */
const nn_layer_kind nn_kind_add = {
    .name = "add",
    .flags = NN_KIND_JOIN | NN_KIND_TRANSPARENT,
    .object_size = sizeof(nn_layer),
    .spec = {.token = "add", .grammar = "add(NAME[,NAME...])"},
    .ops = {.reshape = add_reshape, .forward = add_forward,
            .backward = add_backward},
};
