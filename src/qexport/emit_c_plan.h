/* Where each layer's output lives in the working memory of a model
 * compiled to C (emit_c.c): a tensor is live from the layer that makes
 * it to its last reader, and tensors whose lifetimes do not overlap share
 * floats. */
#ifndef NN_QEXPORT_EMIT_C_PLAN_H
#define NN_QEXPORT_EMIT_C_PLAN_H

#include <stddef.h>

#include "nn.h"
#include "qexport/emit_plan.h"

/* Where one layer's output is (size: its floats of one sample; owner: the
 * layer whose floats hold it, itself or an earlier one it is computed over
 * in place or aliases (dropout), -1 the net's input; last_read: the last
 * layer reading the owner's floats). */
typedef nn_emit_slot emit_c_slot;

/* Fills slots[0..count) for the layers of net (count = its layer count):
 * an element-wise layer (is_elementwise) whose input dies with it writes
 * over that input, a dropout layer (is_alias) is its input, and the last
 * layer is the caller's output buffer (not in the working memory).
 * *work_floats gets the floats of working memory. NN_ENOMEM when slots
 * cannot be made (they are then NULL). */
nn_status nn_emit_c_plan(const nn_net *net,
                         int (*is_elementwise)(const char *kind),
                         int (*is_alias)(const char *kind),
                         emit_c_slot **slots, size_t *work_floats);

#endif /* NN_QEXPORT_EMIT_C_PLAN_H */
