/* Element-wise activation layers: relu, sigmoid and tanh.
 * Output shape = input shape. Each backward uses the forward's output y. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* The kernels' arrays never overlap (restrict) and every element is read
 * unconditionally, so the compiler turns each loop into vector code. */

/* y = max(0, x) */
void nn_relu_forward(const float *restrict x, float *restrict y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

/* dx += dy * [y > 0] */
void nn_relu_backward(const float *restrict y, const float *restrict dy,
                      float *restrict dx, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float d = dy[i];
        dx[i] += y[i] > 0.0f ? d : 0.0f;
    }
}

/* y = 1 / (1 + e^-x) */
void nn_sigmoid_forward(const float *x, float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

/* dx += dy * y (1 - y) */
void nn_sigmoid_backward(const float *restrict y, const float *restrict dy,
                         float *restrict dx, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

/* y = tanh(x) */
void nn_tanh_forward(const float *x, float *y, size_t count)
{
    for (size_t i = 0; i < count; i++)
        y[i] = tanhf(x[i]);
}

/* dx += dy * (1 - y^2) */
void nn_tanh_backward(const float *restrict y, const float *restrict dy,
                      float *restrict dx, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

/* One adapter serves all three: the ops table names the kernel pair. */
typedef struct {
    nn_layer_ops ops;
    void (*forward)(const float *x, float *y, size_t count);
    void (*backward)(const float *y, const float *dy, float *dx, size_t count);
} activation_ops;

static nn_status activation_reshape(nn_layer *layer)
{
    layer->out_c = layer->in_c;
    layer->out_h = layer->in_h;
    layer->out_w = layer->in_w;
    return NN_OK;
}

static void activation_sizes(const nn_layer *layer, int max_batch,
                             nn_layer_sizes *out)
{
    (void)layer;
    (void)max_batch;
    (void)out;
}

static void activation_init(nn_layer *layer, nn_rng *rng, int he)
{
    (void)layer;
    (void)rng;
    (void)he;
}

/* NN_CHUNKS slices of the tensor, one task each; element-wise, so any
 * split gives the same result. */
typedef struct {
    const activation_ops *ops;
    const nn_tensor *in, *out;
    size_t count;
    int backward;
} activation_job;

static void activation_task(void *p, int task, int thread)
{
    const activation_job *job = p;
    size_t first, last;
    (void)thread;
    nn_split_size(job->count, NN_CHUNKS, task, &first, &last);
    if (job->backward)
        job->ops->backward(job->out->x + first, job->out->g + first,
                           job->in->g + first, last - first);
    else
        job->ops->forward(job->in->x + first, job->out->x + first, last - first);
}

static void activation_forward(nn_layer *layer, const nn_tensor *in,
                               nn_tensor *out, const nn_exec *ex)
{
    activation_job job = {(const activation_ops *)layer->ops, in, out,
                          nn_tensor_count(in), 0};
    nn_pool_run(ex->pool, NN_CHUNKS, activation_task, &job);
}

static void activation_backward(nn_layer *layer, const nn_tensor *in,
                                const nn_tensor *out, const nn_exec *ex)
{
    activation_job job = {(const activation_ops *)layer->ops, in, out,
                          nn_tensor_count(out), 1};
    if (in->g)
        nn_pool_run(ex->pool, NN_CHUNKS, activation_task, &job);
}

static int activation_describe(const nn_layer *layer, char *buf, size_t size)
{
    return snprintf(buf, size, "%s", layer->ops->name);
}

#define ACTIVATION(kind)                                                   \
    {                                                                      \
        {#kind, activation_reshape, activation_sizes, activation_init,     \
         activation_forward, activation_backward, activation_describe},    \
            nn_##kind##_forward, nn_##kind##_backward                      \
    }

static const activation_ops relu_ops = ACTIVATION(relu);
static const activation_ops sigmoid_ops = ACTIVATION(sigmoid);
static const activation_ops tanh_ops = ACTIVATION(tanh);

static nn_status activation_create(const activation_ops *ops, nn_layer **layer)
{
    *layer = calloc(1, sizeof **layer);
    if (!*layer)
        return NN_ENOMEM;
    (*layer)->ops = &ops->ops;
    return NN_OK;
}

nn_status nn_relu_create(nn_layer **layer)
{
    return activation_create(&relu_ops, layer);
}

nn_status nn_sigmoid_create(nn_layer **layer)
{
    return activation_create(&sigmoid_ops, layer);
}

nn_status nn_tanh_create(nn_layer **layer)
{
    return activation_create(&tanh_ops, layer);
}
