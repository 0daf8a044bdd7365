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
