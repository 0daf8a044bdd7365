/* Element-wise activation layers: relu, sigmoid and tanh.
 * Output shape = input shape. Each backward uses the forward's output y. */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* The kernels' arrays never overlap (restrict) and every element is read
 * unconditionally, so the compiler turns each loop into vector code. */

/* y = max(0, x), and NaN stays NaN (as PyTorch's relu); -0 gives +0.
 * One select, so that the loop vectorises (an added "+ 0" after it keeps
 * GCC from if-converting it: a branch per value, 29 times slower). */
void nn_relu_forward(const float *restrict x, float *restrict y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        y[i] = v > 0.0f || v != v ? v : 0.0f;
    }
}

/* dx = dy * [y > 0], added to dx when `add`: one loop per case, each
 * with every element read unconditionally, so both vectorise. */
static void relu_grad(const float *restrict y, const float *restrict dy,
                      float *restrict dx, size_t count, int add)
{
    if (add)
        for (size_t i = 0; i < count; i++) {
            float d = dy[i];
            dx[i] += y[i] > 0.0f ? d : 0.0f;
        }
    else
        for (size_t i = 0; i < count; i++) {
            float d = dy[i];
            dx[i] = y[i] > 0.0f ? d : 0.0f;
        }
}

/* dx += dy * [y > 0] */
void nn_relu_backward(const float *restrict y, const float *restrict dy,
                      float *restrict dx, size_t count)
{
    relu_grad(y, dy, dx, count, 1);
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

/* One adapter serves every activation (leaky relu's file uses it too):
 * the kind's impl names its nn_nn_activation_kernels, called with the layer's
 * slope (which relu, sigmoid and tanh ignore). */

/* NN_PIECES slices of the tensor, one task each; element-wise, so any
 * split gives the same result. */
typedef struct {
    const nn_activation_kernels *kernels;
    const nn_tensor *in, *out;
    size_t count;
    float slope;
    int backward;
} activation_job;

static void activation_task(void *p, int task, int thread)
{
    const activation_job *job = p;
    size_t first, last;
    (void)thread;
    nn_split_size(job->count, NN_PIECES, task, &first, &last);
    if (job->backward)
        job->kernels->backward(job->out->x + first, job->out->g + first,
                               job->in->g + first, last - first, job->slope);
    else
        job->kernels->forward(job->in->x + first, job->out->x + first,
                              last - first, job->slope);
}

void nn_activation_forward(nn_layer *layer, const nn_tensor *in,
                           nn_tensor *out, const nn_exec *ex)
{
    activation_job job = {layer->kind->impl, in, out, nn_tensor_count(in),
                          layer->args.slope, 0};
    nn_pool_run(ex->pool, NN_PIECES, activation_task, &job);
}

void nn_activation_backward(nn_layer *layer, const nn_tensor *in,
                            const nn_tensor *out, const nn_exec *ex)
{
    activation_job job = {layer->kind->impl, in, out, nn_tensor_count(out),
                          layer->args.slope, 1};
    if (in->g)
        nn_pool_run(ex->pool, NN_PIECES, activation_task, &job);
}

/* The kernel pair of an activation without a parameter, as the adapter
 * calls it. */
#define PLAIN_KERNELS(name)                                                 \
    static void name##_fwd(const float *x, float *y, size_t count,          \
                           float slope)                                     \
    {                                                                       \
        (void)slope;                                                        \
        nn_##name##_forward(x, y, count);                                   \
    }                                                                       \
    static void name##_bwd(const float *y, const float *dy, float *dx,      \
                           size_t count, float slope)                       \
    {                                                                       \
        (void)slope;                                                        \
        nn_##name##_backward(y, dy, dx, count);                             \
    }                                                                       \
    static const nn_activation_kernels name##_kernels = {name##_fwd, name##_bwd}

/* relu's layer writes its input's gradient rather than adding to it
 * (NN_KIND_SETS_INPUT_GRAD below): the net then skips clearing it, one
 * write and one read of the tensor fewer. */
static void relu_fwd(const float *x, float *y, size_t count, float slope)
{
    (void)slope;
    nn_relu_forward(x, y, count);
}
static void relu_set_bwd(const float *y, const float *dy, float *dx,
                         size_t count, float slope)
{
    (void)slope;
    relu_grad(y, dy, dx, count, 0);
}
static const nn_activation_kernels relu_kernels = {relu_fwd, relu_set_bwd};

PLAIN_KERNELS(sigmoid);
PLAIN_KERNELS(tanh);

/* relu asks for He initialisation of the layer before it: gain^2 = 2 */
static float relu_gain2(const nn_layer_args *args)
{
    (void)args;
    return 2.0f;
}

/* The kind of an activation called kind_name, with its flags, gain and
 * kernels (kind_name##_kernels). */
#define ACTIVATION_KIND(kind_name, kind_flags, kind_gain2)                 \
    const nn_layer_kind nn_kind_##kind_name = {                             \
        .name = #kind_name,                                                 \
        .flags = kind_flags,                                                \
        .object_size = sizeof(nn_layer),                                    \
        .spec = {.token = #kind_name, .grammar = #kind_name},               \
        .ops = {.reshape = nn_layer_same_shape,                             \
                .forward = nn_activation_forward,                           \
                .backward = nn_activation_backward},                        \
        .gain2 = kind_gain2,                                                \
        .impl = &kind_name##_kernels,                                       \
    }

ACTIVATION_KIND(relu, NN_KIND_SETS_INPUT_GRAD | NN_KIND_RELU, relu_gain2);
ACTIVATION_KIND(sigmoid, 0, NULL);
ACTIVATION_KIND(tanh, 0, NULL);
