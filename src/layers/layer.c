/* What every layer kind's file may call: the helpers the kinds share. */
#include "layers/layer.h"

#include <math.h>

nn_status nn_layer_same_shape(nn_layer *layer)
{
    layer->out_c = layer->in_c;
    layer->out_h = layer->in_h;
    layer->out_w = layer->in_w;
    return NN_OK;
}

/* He: normal with std sqrt(gain2 / fan_in) (gain2 = 2 before relu).
 * Xavier (Glorot): uniform in +-sqrt(6 / (fan_in + fan_out)) otherwise. */
void nn_init_weights(float *w, size_t n, int fan_in, int fan_out, float gain2,
                     nn_rng *rng)
{
    if (gain2 > 0.0f) {
        float std = sqrtf(gain2 / (float)fan_in);
        for (size_t i = 0; i < n; i++)
            w[i] = std * nn_rng_normal(rng);
    } else {
        float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
        for (size_t i = 0; i < n; i++)
            w[i] = limit * (2.0f * nn_rng_uniform(rng) - 1.0f);
    }
}

/* folded = (W diag-scaled by row, b * scale + shift): the affine map
 * y' = scale * y + shift after y = W x + b is y' = (scale W) x +
 * (scale b + shift). */
void nn_fold_rows(const nn_layer *layer, const nn_layer *next, float *folded,
                  int rows, size_t per_row)
{
    const float *w = layer->params, *b = w + (size_t)rows * per_row;
    float *bias = folded + (size_t)rows * per_row;
    for (int o = 0; o < rows; o++) {
        float scale, shift;
        next->kind->ops.channel_affine(next, o, &scale, &shift);
        for (size_t k = 0; k < per_row; k++)
            folded[(size_t)o * per_row + k] = w[(size_t)o * per_row + k] * scale;
        bias[o] = b[o] * scale + shift;
    }
}

void nn_relu_in_place(float *y, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float v = y[i];
        y[i] = v > 0.0f || v != v ? v : 0.0f;
    }
}

void nn_relu_mask_in_place(const float *restrict y, float *restrict g,
                           size_t count)
{
    for (size_t i = 0; i < count; i++) {
        float d = g[i];
        g[i] = y[i] > 0.0f ? d : 0.0f;
    }
}
