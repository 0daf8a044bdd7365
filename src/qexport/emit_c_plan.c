/* The working memory of a model compiled to C (emit_c_plan.h). */
#include "qexport/emit_c_plan.h"

#include <stdlib.h>

/* The owner of what layer `from` outputs (-1: the net's input). */
static int owner_of(const emit_c_slot *slots, int from)
{
    return from < 0 ? -1 : slots[from].owner;
}

/* The last layer reading any output of layers [0, before) held in owner's
 * buffer (-1 when none does). */
static int last_reader(const nn_layer_info *info, const emit_c_slot *slots,
                       int count, int owner, int before)
{
    int last = -1;
    for (int j = 0; j < count; j++)
        for (int k = 0; k < info[j].inputs; k++) {
            int from = info[j].from[k];
            if (from >= 0 && from < before && slots[from].owner == owner)
                last = j;
        }
    return last;
}

nn_status nn_emit_c_plan(const nn_net *net,
                         int (*is_elementwise)(const char *kind),
                         int (*is_alias)(const char *kind),
                         emit_c_slot **slots, size_t *work_floats)
{
    int count = nn_net_layer_count(net);
    nn_layer_info *info = calloc((size_t)count, sizeof *info);
    emit_c_slot *s = calloc((size_t)count, sizeof *s);
    *slots = NULL;
    *work_floats = 0;
    if (!info || !s) {
        free(info);
        free(s);
        return NN_ENOMEM;
    }
    for (int i = 0; i < count; i++)
        nn_net_layer_info(net, i, &info[i]);
    for (int i = 0; i < count; i++) {
        int input = owner_of(s, info[i].from[0]);
        s[i].size = (size_t)info[i].out_c * info[i].out_h * info[i].out_w;
        s[i].owner = i;
        if (is_alias(info[i].kind))
            s[i].owner = input;
        else if (i < count - 1 && input >= 0 && is_elementwise(info[i].kind) &&
                 last_reader(info, s, count, input, i) == i)
            s[i].owner = input;
    }
    for (int i = 0; i < count; i++)
        if (s[i].owner == i) {
            int last = last_reader(info, s, count, i, count);
            s[i].last_read = last > i ? last : i;
        }
    for (int i = 0; i < count - 1; i++)
        if (s[i].owner == i) {
            s[i].offset = nn_emit_first_fit(s, i);
            if (s[i].offset + s[i].size > *work_floats)
                *work_floats = s[i].offset + s[i].size;
        }
    free(info);
    *slots = s;
    return NN_OK;
}
