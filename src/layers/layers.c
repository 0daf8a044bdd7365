/* The table of layer kinds, and what all layers share. Adding a kind of
 * layer: write src/layers/layer_<name>.c ending in its nn_layer_kind, and
 * add one line below (its declaration and its row). */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

extern const nn_layer_kind nn_kind_conv2d, nn_kind_dense, nn_kind_maxpool,
    nn_kind_relu, nn_kind_sigmoid, nn_kind_tanh, nn_kind_batchnorm,
    nn_kind_avgpool, nn_kind_global_avgpool, nn_kind_leakyrelu, nn_kind_dropout;

const nn_layer_kind *const nn_layer_kinds[] = {
    &nn_kind_conv2d,
    &nn_kind_dense,
    &nn_kind_maxpool,
    &nn_kind_relu,
    &nn_kind_sigmoid,
    &nn_kind_tanh,
    &nn_kind_batchnorm,
    &nn_kind_avgpool,
    &nn_kind_global_avgpool,
    &nn_kind_leakyrelu,
    &nn_kind_dropout,
    NULL,
};

/* The length of word when [start, end) starts with it, else 0. */
static size_t starts_with(const char *start, const char *end, const char *word)
{
    size_t len = word ? strlen(word) : 0;
    return len && (size_t)(end - start) >= len && !memcmp(start, word, len)
               ? len : 0;
}

const nn_layer_kind *nn_layer_kind_match(const char *start, const char *end,
                                         size_t *prefix)
{
    const nn_layer_kind *best = NULL;
    *prefix = 0;
    for (int i = 0; nn_layer_kinds[i]; i++) {
        const nn_layer_kind *kind = nn_layer_kinds[i];
        size_t a = starts_with(start, end, kind->token);
        size_t b = starts_with(start, end, kind->alias);
        size_t len = a > b ? a : b;
        if (!kind->parse && len != (size_t)(end - start))
            len = 0; /* a kind without parameters is its whole token */
        if (len > *prefix) {
            *prefix = len;
            best = kind;
        }
    }
    return best;
}

const char *nn_spec_grammar(int i, const char **name)
{
    int count = 0;
    while (nn_layer_kinds[count])
        count++;
    if (i < 0 || i >= count)
        return NULL;
    if (name)
        *name = nn_layer_kinds[i]->name;
    return nn_layer_kinds[i]->grammar;
}

int nn_layer_print(const nn_layer *layer, char *buf, size_t size)
{
    if (layer->kind->print)
        return layer->kind->print(&layer->args, buf, size);
    return snprintf(buf, size, "%s", layer->kind->token);
}

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
