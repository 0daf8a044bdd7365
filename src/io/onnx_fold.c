/* Constant folding for ONNX import: a node whose inputs are all
 * initializers, of an operator that only moves or builds values, becomes
 * one more initializer named after its output. That covers what exporters
 * write around weights and settings rather than around the data:
 * PyTorch's Identity copies of a shared weight, the Transpose of a weight
 * before a MatMul, and the int64 arithmetic of F.pad's pads
 * (ConstantOfShape, Concat, Reshape, Slice, Transpose, Cast). Float
 * tensors fold through Identity and Transpose only; int64 ones of at most
 * 8 values (what the reader keeps) through all of them. */
#include "io/onnx_model.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h" /* nn_mul_size */

/* The multi-index of flat index i in dims[0..rank), last axis fastest. */
static void unflatten(size_t i, const int64_t *dims, int rank, int64_t *at)
{
    for (int d = rank - 1; d >= 0; d--) {
        at[d] = (int64_t)(i % (size_t)dims[d]);
        i /= (size_t)dims[d];
    }
}

/* The flat index of multi-index at in dims[0..rank). */
static size_t flatten(const int64_t *at, const int64_t *dims, int rank)
{
    size_t i = 0;
    for (int d = 0; d < rank; d++)
        i = i * (size_t)dims[d] + (size_t)at[d];
    return i;
}

/* out takes value `from` of in at flat index `to` (float or int64 alike). */
static void copy_value(const nn_onnx_init *in, size_t from, nn_onnx_init *out,
                       size_t to)
{
    if (in->is_float)
        out->owned[to] = in->t.values[from];
    else
        out->ints[to] = in->ints[from];
}

/* Starts out as a tensor of in's type with dims[0..rank); 0 when it is
 * empty, too large to keep, or out of memory. */
static int begin_like(const nn_onnx_init *in, const int64_t *dims, int rank,
                      nn_onnx_init *out)
{
    size_t count = 1;
    memset(out, 0, sizeof *out);
    out->n_ints = -1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] <= 0 || dims[d] > (1 << 30) ||
            !nn_mul_size(count, (size_t)dims[d], &count) || count > (1u << 30))
            return 0;
        out->t.dims[d] = dims[d];
    }
    out->t.rank = rank;
    out->t.count = count;
    out->is_float = in->is_float;
    if (in->is_float) {
        if (!(out->owned = malloc(count * sizeof(float))))
            return 0;
        out->t.values = out->owned;
    } else if (count <= 8)
        out->n_ints = (int)count;
    else
        return 0;
    return 1;
}

/* Transpose by perm (absent: the axes reversed). */
static int fold_transpose(const nn_onnx_node_in *node, const nn_onnx_init *in,
                          nn_onnx_init *out)
{
    const nn_onnx_attr *perm = nn_onnx_attr_find(node, "perm");
    int64_t p[8], dims[8], at[8], from[8];
    int rank = in->t.rank, seen = 0;
    if (perm && perm->n_ints != rank)
        return 0;
    for (int d = 0; d < rank; d++) {
        p[d] = perm ? perm->ints[d] : rank - 1 - d;
        if (p[d] < 0 || p[d] >= rank || (seen & (1 << p[d])))
            return 0;
        seen |= 1 << p[d];
        dims[d] = in->t.dims[p[d]];
    }
    if (!begin_like(in, dims, rank, out))
        return 0;
    for (size_t i = 0; i < out->t.count; i++) {
        unflatten(i, dims, rank, at);
        for (int d = 0; d < rank; d++)
            from[p[d]] = at[d];
        copy_value(in, flatten(from, in->t.dims, rank), out, i);
    }
    return 1;
}

/* Slice of an int64 tensor by starts, ends, axes and steps, as ONNX clamps
 * them. */
static int fold_slice(const nn_onnx_node_in *node, const nn_onnx_init *in,
                      const nn_onnx_init *const *arg, nn_onnx_init *out)
{
    int64_t first[8], step[8], dims[8], at[8];
    int rank = in->t.rank, n = arg[1] ? arg[1]->n_ints : -1;
    if (!arg[2] || arg[2]->n_ints != n || n < 1 ||
        (node->n_inputs > 3 && node->inputs[3][0] && (!arg[3] || arg[3]->n_ints != n)) ||
        (node->n_inputs > 4 && node->inputs[4][0] && (!arg[4] || arg[4]->n_ints != n)))
        return 0;
    for (int d = 0; d < rank; d++) {
        first[d] = 0;
        step[d] = 1;
        dims[d] = in->t.dims[d];
    }
    for (int i = 0; i < n; i++) {
        int64_t axis = arg[3] ? arg[3]->ints[i] : i, by = arg[4] ? arg[4]->ints[i] : 1;
        int64_t dim, start, end;
        axis += axis < 0 ? rank : 0;
        if (axis < 0 || axis >= rank || by == 0 || by < -(1 << 20) || by > (1 << 20))
            return 0;
        dim = in->t.dims[axis];
        start = arg[1]->ints[i];
        end = arg[2]->ints[i];
        start += start < 0 ? dim : 0;
        end += end < 0 ? dim : 0;
        if (by > 0) {
            start = start < 0 ? 0 : start > dim ? dim : start;
            end = end < 0 ? 0 : end > dim ? dim : end;
            dims[axis] = end > start ? (end - start + by - 1) / by : 0;
        } else {
            start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
            end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
            dims[axis] = start > end ? (start - end - by - 1) / -by : 0;
        }
        first[axis] = start;
        step[axis] = by;
    }
    if (!begin_like(in, dims, rank, out))
        return 0;
    for (size_t i = 0; i < out->t.count; i++) {
        unflatten(i, dims, rank, at);
        for (int d = 0; d < rank; d++)
            at[d] = first[d] + at[d] * step[d];
        copy_value(in, flatten(at, in->t.dims, rank), out, i);
    }
    return 1;
}

/* Reshape to an int64 shape (0 keeps the dimension, unless allowzero;
 * one -1 takes what is left); the values stay in their order. */
static int fold_reshape(const nn_onnx_node_in *node, const nn_onnx_init *in,
                        const nn_onnx_init *shape, nn_onnx_init *out)
{
    const nn_onnx_attr *allow = nn_onnx_attr_find(node, "allowzero");
    int64_t dims[8], known = 1;
    int rank = shape ? shape->n_ints : -1, free_axis = -1;
    if (rank < 1)
        return 0;
    for (int d = 0; d < rank; d++) {
        dims[d] = shape->ints[d];
        if (dims[d] == 0 && !(allow && allow->i) && d < in->t.rank)
            dims[d] = in->t.dims[d];
        if (dims[d] == -1 && free_axis < 0)
            free_axis = d;
        else if (dims[d] < 1 || dims[d] > (1 << 30) || known > (1 << 30))
            return 0;
        else
            known *= dims[d];
    }
    if (free_axis >= 0)
        dims[free_axis] = (int64_t)in->t.count / known;
    if (!begin_like(in, dims, rank, out) || out->t.count != in->t.count)
        return 0;
    for (size_t i = 0; i < out->t.count; i++)
        copy_value(in, i, out, i);
    return 1;
}

/* Concat of int64 tensors of one rank along axis. */
static int fold_concat(const nn_onnx_node_in *node,
                       const nn_onnx_init *const *arg, nn_onnx_init *out)
{
    const nn_onnx_attr *axis_attr = nn_onnx_attr_find(node, "axis");
    int64_t dims[8], at[8], axis = axis_attr ? axis_attr->i : 0;
    int rank = arg[0]->t.rank;
    axis += axis < 0 ? rank : 0;
    if (axis < 0 || axis >= rank)
        return 0;
    memcpy(dims, arg[0]->t.dims, sizeof dims);
    dims[axis] = 0;
    for (int k = 0; k < node->n_inputs; k++) {
        if (!arg[k] || arg[k]->is_float || arg[k]->t.rank != rank)
            return 0;
        for (int d = 0; d < rank; d++)
            if (d != axis && arg[k]->t.dims[d] != dims[d])
                return 0;
        dims[axis] += arg[k]->t.dims[axis];
    }
    if (!begin_like(arg[0], dims, rank, out))
        return 0;
    for (size_t i = 0; i < out->t.count; i++) {
        int k = 0;
        unflatten(i, dims, rank, at);
        while (at[axis] >= arg[k]->t.dims[axis])
            at[axis] -= arg[k++]->t.dims[axis];
        copy_value(arg[k], flatten(at, arg[k]->t.dims, rank), out, i);
    }
    return 1;
}

/* ConstantOfShape: an int64 tensor of the given shape filled with its
 * value's one int64 (a float fill is not folded). */
static int fold_constant_of_shape(const nn_onnx_node_in *node,
                                  const nn_onnx_init *shape, nn_onnx_init *out)
{
    const nn_onnx_attr *value = nn_onnx_attr_find(node, "value");
    nn_onnx_init fill;
    char why[64];
    if (!value || !value->t.data || !shape || shape->t.rank != 1 ||
        shape->n_ints < 1 ||
        !nn_onnx_read_tensor(&value->t, &fill, "value", why, sizeof why))
        return 0;
    free(fill.owned);
    if (fill.is_float || fill.n_ints != 1 ||
        !begin_like(&fill, shape->ints, shape->n_ints, out))
        return 0;
    for (size_t i = 0; i < out->t.count; i++)
        out->ints[i] = fill.ints[0];
    return 1;
}

int nn_onnx_fold(nn_onnx_model *m, const nn_onnx_node_read *read)
{
    const nn_onnx_node_in *node = &read->in;
    const nn_onnx_init *arg[NN_ONNX_NODE_NAMES] = {NULL};
    const nn_onnx_attr *to = nn_onnx_attr_find(node, "to");
    nn_onnx_init *out = &m->inits[m->n_inits];
    const char *op = node->op;
    int ok;
    if (node->n_inputs < 1)
        return 0;
    for (int k = 0; k < node->n_inputs; k++)
        if (node->inputs[k][0] &&
            !(arg[k] = nn_onnx_find_init(m, node->inputs[k])))
            return 0; /* a tensor the graph computes: not a constant */
    if (!arg[0] || (!arg[0]->is_float && arg[0]->n_ints < 0))
        return 0;
    if (!strcmp(op, "Identity") ||
        (!strcmp(op, "Cast") && to && to->i == 7 && !arg[0]->is_float)) {
        ok = begin_like(arg[0], arg[0]->t.dims, arg[0]->t.rank, out);
        for (size_t i = 0; ok && i < arg[0]->t.count; i++)
            copy_value(arg[0], i, out, i);
    } else if (!strcmp(op, "Transpose"))
        ok = fold_transpose(node, arg[0], out);
    else if (!arg[0]->is_float && !strcmp(op, "Slice"))
        ok = fold_slice(node, arg[0], arg, out);
    else if (!strcmp(op, "Reshape"))
        ok = fold_reshape(node, arg[0], node->n_inputs > 1 ? arg[1] : NULL, out);
    else if (!strcmp(op, "Concat"))
        ok = fold_concat(node, arg, out);
    else if (!strcmp(op, "ConstantOfShape"))
        ok = fold_constant_of_shape(node, arg[0], out);
    else
        return 0;
    if (!ok) {
        free(out->owned);
        out->owned = NULL;
        return 0;
    }
    strcpy(out->name, read->outputs[0]); /* of the same size */
    m->n_inits++;
    return 1;
}
