/* The table of layer kinds, and the look-ups over it. Adding a kind of
 * layer: write src/layers/layer_<name>.c ending in its nn_layer_kind, and
 * add its row below and its declaration to src/layers/layer.h. */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

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
    &nn_kind_add,
    &nn_kind_concat,
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
        size_t a = starts_with(start, end, kind->spec.token);
        size_t b = starts_with(start, end, kind->spec.alias);
        size_t len = a > b ? a : b;
        if (!kind->spec.parse && len != (size_t)(end - start))
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
    return nn_layer_kinds[i]->spec.grammar;
}

int nn_layer_print(const nn_layer *layer, char *buf, size_t size)
{
    if (layer->kind->spec.print)
        return layer->kind->spec.print(&layer->args, buf, size);
    return snprintf(buf, size, "%s", layer->kind->spec.token);
}
