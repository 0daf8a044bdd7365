/* Squared error, halved and averaged over the batch: the loss of seed 000's
 * worked example, E = 1/2 sum (target - out)^2 for one sample. */
#include "layers/layer.h"

#include <math.h>

/* loss = 1/(2n) sum_{i,j} (y[i,j] - t[i,j])^2 */
nn_status nn_mse_forward(const float *y, const float *target, int n,
                         int features, float *loss)
{
    double total = 0.0;
    for (size_t i = 0; i < (size_t)n * features; i++)
        total += 0.5 * (double)(y[i] - target[i]) * (y[i] - target[i]);
    *loss = (float)(total / n);
    return isfinite(*loss) ? NN_OK : NN_ENUMERIC;
}

/* dy += (y - t) / total, for n of a batch's total rows */
void nn_mse_backward_of(const float *y, const float *target, float *dy, int n,
                        int total, int features)
{
    float inv_n = 1.0f / (float)total;
    for (size_t i = 0; i < (size_t)n * features; i++)
        dy[i] += (y[i] - target[i]) * inv_n;
}

/* dy += (y - t) / n */
void nn_mse_backward(const float *y, const float *target, float *dy, int n,
                     int features)
{
    nn_mse_backward_of(y, target, dy, n, n, features);
}
