/* Leaky relu: the identity for positive inputs, a small slope elsewhere.
 * Output shape = input shape. Backward uses the forward's output y, which
 * has the sign of x as long as slope > 0. */
#include "internal.h"

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
