/* Element-wise sum of two or more outputs of one shape: the residual
 * connection y = x + F(x). Its gradient flows unchanged to every input. */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

/* y += x over count values. */
static void add_into(float *restrict y, const float *restrict x, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] += x[i];
}

/* Runs of values that stay in the cache between the passes over them. */
#define ADD_RUN 1024

/* y = sum_k x[k] over count elements, the inputs added in order
 * ((x[0] + x[1]) + x[2] ...), run by run of ADD_RUN values: a copy, then
 * one vectorised pass per further input. */
void nn_add_forward(const float *const *x, int inputs, float *y, size_t count)
{
    for (size_t first = 0; first < count; first += ADD_RUN) {
        size_t size = count - first < ADD_RUN ? count - first : ADD_RUN;
        memcpy(y + first, x[0] + first, size * sizeof(float));
        for (int k = 1; k < inputs; k++)
            add_into(y + first, x[k] + first, size);
    }
}

/* relu in place over count values: y = y if y > 0 or NaN, else 0, the
 * very select of nn_relu_forward (one select, so that it vectorises). */
static void relu_in_place(float *restrict y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = y[i];
        y[i] = v > 0.0f || v != v ? v : 0.0f;
    }
}

/* The same sum with the relu that follows applied: y = relu(sum_k x[k]),
 * so the values are those of the two layers run apart. Summed, then the
 * relu applied, run by run of ADD_RUN values while they are in the cache:
 * each loop alone vectorises (the two in one did not). */
static void add_relu_forward(const float *const *x, int inputs, float *y,
                             size_t count)
{
    const float *run[NN_MAX_INPUTS];
    for (size_t first = 0; first < count; first += ADD_RUN) {
        size_t size = count - first < ADD_RUN ? count - first : ADD_RUN;
        for (int k = 0; k < inputs; k++)
            run[k] = x[k] + first;
        nn_add_forward(run, inputs, y + first, size);
        relu_in_place(y + first, size);
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

/* With the relu after the layer applied, for one input: dy is that
 * relu's output gradient and relu_y its output, and dx += dy [relu_y > 0],
 * the value relu's backward would have passed on (one select, so it
 * vectorises). */
static void add_relu_backward(const float *restrict dy,
                              const float *restrict relu_y,
                              float *restrict dx, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float d = dy[i];
        dx[i] += relu_y[i] > 0.0f ? d : 0.0f;
    }
}

static nn_status add_reshape(nn_layer *layer)
{
    for (int k = 1; k < layer->inputs; k++)
        for (int d = 0; d < 3; d++)
            if (layer->in_shape[k][d] != layer->in_shape[0][d])
                return NN_ESHAPE;
    return nn_layer_same_shape(layer);
}

/* NN_PIECES slices of the output, one task each. When the net tells the
 * layer to apply the relu after it (layer->relu_applied), `out` is that
 * relu's output and gradient: forward writes relu(sum) there (the layer's
 * own output is not written) and backward masks the gradient with it. */
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
    if (job->backward && job->layer->relu_applied)
        for (int k = 0; k < inputs; k++) {
            if (dx[k])
                add_relu_backward(job->out->g + first, job->out->x + first,
                                  dx[k], last - first);
        }
    else if (job->backward)
        nn_add_backward(job->out->g + first, dx, inputs, last - first);
    else if (job->layer->relu_applied)
        add_relu_forward(x, inputs, job->out->x + first, last - first);
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
    .flags = NN_KIND_JOIN | NN_KIND_TRANSPARENT | NN_KIND_FUSES_RELU_TRAINING,
    .object_size = sizeof(nn_layer),
    .spec = {.token = "add", .grammar = "add(NAME[,NAME...])"},
    .ops = {.reshape = add_reshape, .forward = add_forward,
            .backward = add_backward},
};
