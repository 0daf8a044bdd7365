/* Leaky relu: the identity for positive inputs, a small slope elsewhere.
 * Output shape = input shape. Backward uses the forward's output y, which
 * has the sign of x as long as slope > 0. */
#include "layers/layer.h"

#include <stdio.h>

/* v > 0 ? v : slope * v is written as pos + slope * neg, with pos = v > 0 ?
 * v : -0 and neg = v > 0 ? -0 : v: the same bits for every v (adding -0
 * changes nothing, not even a zero's sign), but the multiplication is no
 * longer conditional, so the compiler turns each loop into vector code
 * (under the default -ftrapping-math it will not if-convert a conditional
 * one). slope must be finite: slope * -0 is then a zero. */

/* y = x > 0 ? x : slope x (a NaN stays NaN: slope * NaN) */
void nn_leakyrelu_forward(const float *restrict x, float *restrict y,
                          size_t count, float slope)
{
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        float pos = v > 0.0f ? v : -0.0f, neg = v > 0.0f ? -0.0f : v;
        y[i] = pos + slope * neg;
    }
}

/* dx += dy * (y > 0 ? 1 : slope), valid for slope > 0 */
void nn_leakyrelu_backward(const float *restrict y, const float *restrict dy,
                           float *restrict dx, size_t count, float slope)
{
    for (size_t i = 0; i < count; i++) {
        float d = dy[i];
        float pos = y[i] > 0.0f ? d : -0.0f, neg = y[i] > 0.0f ? -0.0f : d;
        dx[i] += pos + slope * neg;
    }
}

static const nn_activation_kernels leakyrelu_kernels = {
    nn_leakyrelu_forward, nn_leakyrelu_backward};

/* leakyrelu[A], after "leakyrelu": the slope A in [0, 1) (default 0.01) */
static int leakyrelu_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return c->p == c->end || nn_spec_float(c, "slope", 0.0f, 1.0f, &a->slope);
}

/* leakyrelu for the default slope, else leakyrelu and the slope */
static int leakyrelu_print(const nn_layer_args *a, char *buf, size_t size)
{
    if (a->slope == 0.01f)
        return snprintf(buf, size, "leakyrelu");
    return nn_spec_print_float(buf, size, "leakyrelu", a->slope);
}

static nn_status leakyrelu_check(const nn_layer_args *a)
{
    return a->slope >= 0.0f && a->slope < 1.0f ? NN_OK : NN_EINVAL;
}

/* He initialisation with the slope's gain: gain^2 = 2 / (1 + slope^2) */
static float leakyrelu_gain2(const nn_layer_args *a)
{
    return 2.0f / (1.0f + a->slope * a->slope);
}

const nn_layer_kind nn_kind_leakyrelu = {
    .name = "leakyrelu",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "leakyrelu", .grammar = "leakyrelu[A]",
             .parse = leakyrelu_parse, .print = leakyrelu_print,
             .check = leakyrelu_check, .defaults = {.slope = 0.01f}},
    .ops = {.reshape = nn_layer_same_shape, .forward = nn_activation_forward,
            .backward = nn_activation_backward},
    .gain2 = leakyrelu_gain2,
    .impl = &leakyrelu_kernels,
};
