/* One ONNX node at a time, for the kinds' mappings (src/io/onnx_layers.c)
 * and the graph around them: writing a node, its attributes and
 * initializers; reading a node's attributes back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx.h"

void nn_onnx_value_info(nn_pb_writer *w, int field, const char *name,
                        const int *dims, int rank)
{
    size_t info = nn_pb_begin(w, field), type, tensor, shape;
    nn_pb_string(w, VALUE_NAME, name);
    type = nn_pb_begin(w, VALUE_TYPE);
    tensor = nn_pb_begin(w, TYPE_TENSOR);
    nn_pb_varint(w, TENSOR_ELEM, TENSOR_FLOAT);
    shape = nn_pb_begin(w, TENSOR_SHAPE);
    for (int i = 0; i < rank; i++) {
        size_t dim = nn_pb_begin(w, SHAPE_DIM);
        if (dims[i] < 0)
            nn_pb_string(w, DIM_PARAM, "N");
        else
            nn_pb_varint(w, DIM_VALUE, (uint64_t)dims[i]);
        nn_pb_end(w, dim);
    }
    nn_pb_end(w, shape);
    nn_pb_end(w, tensor);
    nn_pb_end(w, type);
    nn_pb_end(w, info);
}

const char *nn_onnx_name(nn_onnx_graph *g, const char *what)
{
    snprintf(g->name, sizeof g->name, "L%d_%s", g->layer, what);
    return g->name;
}

size_t nn_onnx_node(nn_onnx_graph *g, const char *op_type,
                    const char *const *inputs, int n_inputs,
                    const char *output)
{
    size_t mark = nn_pb_begin(g->graph, GRAPH_NODE);
    char name[96];
    for (int i = 0; i < n_inputs; i++)
        nn_pb_string(g->graph, NODE_INPUT, inputs[i]);
    nn_pb_string(g->graph, NODE_OUTPUT, output);
    if (g->label && g->label[0] && g->out && !strcmp(output, g->out))
        snprintf(name, sizeof name, "%s@%s", nn_onnx_name(g, op_type), g->label);
    else
        snprintf(name, sizeof name, "%s", nn_onnx_name(g, op_type));
    nn_pb_string(g->graph, NODE_NAME, name);
    nn_pb_string(g->graph, NODE_OP, op_type);
    return mark;
}

void nn_onnx_attr_ints(nn_onnx_graph *g, const char *name, const int *v, int n)
{
    size_t mark = nn_pb_begin(g->graph, NODE_ATTR);
    nn_pb_string(g->graph, ATTR_NAME, name);
    for (int i = 0; i < n; i++)
        nn_pb_varint(g->graph, ATTR_INTS, (uint64_t)(int64_t)v[i]);
    nn_pb_varint(g->graph, ATTR_TYPE, ATTR_INTS_TYPE);
    nn_pb_end(g->graph, mark);
}

void nn_onnx_attr_int(nn_onnx_graph *g, const char *name, int v)
{
    size_t mark = nn_pb_begin(g->graph, NODE_ATTR);
    nn_pb_string(g->graph, ATTR_NAME, name);
    nn_pb_varint(g->graph, ATTR_I, (uint64_t)(int64_t)v);
    nn_pb_varint(g->graph, ATTR_TYPE, ATTR_INT);
    nn_pb_end(g->graph, mark);
}

void nn_onnx_attr_float(nn_onnx_graph *g, const char *name, float v)
{
    size_t mark = nn_pb_begin(g->graph, NODE_ATTR);
    nn_pb_string(g->graph, ATTR_NAME, name);
    nn_pb_float(g->graph, ATTR_F, v);
    nn_pb_varint(g->graph, ATTR_TYPE, ATTR_FLOAT);
    nn_pb_end(g->graph, mark);
}

void nn_onnx_node_end(nn_onnx_graph *g, size_t mark)
{
    nn_pb_end(g->graph, mark);
}

void nn_onnx_initializer(nn_onnx_graph *g, const char *name, const int *dims,
                         int rank, const float *values)
{
    size_t count = 1, mark = nn_pb_begin(g->graph, GRAPH_INITIALIZER);
    for (int i = 0; i < rank; i++) {
        nn_pb_varint(g->graph, TENSOR_DIMS, (uint64_t)dims[i]);
        count *= (size_t)dims[i];
    }
    nn_pb_varint(g->graph, TENSOR_TYPE, TENSOR_FLOAT);
    nn_pb_string(g->graph, TENSOR_NAME, name);
    nn_pb_floats(g->graph, TENSOR_RAW, values, count);
    nn_pb_end(g->graph, mark);
}

/* A Reshape of `in` to (N, channels, 1, 1) into "L<layer>_<out_what>",
 * with its shape in the int64 initializer "L<layer>_<shape_what>". */
static void reshape_to_nchw(nn_onnx_graph *g, const char *in, int channels,
                            const char *shape_what, const char *out_what)
{
    char shape_name[64], out[64];
    const char *inputs[2] = {in, shape_name};
    size_t mark;
    snprintf(shape_name, sizeof shape_name, "%s", nn_onnx_name(g, shape_what));
    snprintf(out, sizeof out, "%s", nn_onnx_name(g, out_what));
    /* an int64 initializer (0, channels, 1, 1): 0 keeps the batch */
    mark = nn_pb_begin(g->graph, GRAPH_INITIALIZER);
    nn_pb_varint(g->graph, TENSOR_DIMS, 4);
    nn_pb_varint(g->graph, TENSOR_TYPE, 7); /* INT64 */
    nn_pb_string(g->graph, TENSOR_NAME, shape_name);
    {
        int64_t shape[4] = {0, channels, 1, 1};
        unsigned char raw[32];
        for (int i = 0; i < 4; i++)
            for (int b = 0; b < 8; b++)
                raw[8 * i + b] = (unsigned char)((uint64_t)shape[i] >> (8 * b));
        nn_pb_bytes(g->graph, TENSOR_RAW, raw, sizeof raw);
    }
    nn_pb_end(g->graph, mark);
    nn_pb_end(g->graph, nn_onnx_node(g, "Reshape", inputs, 2, out));
}

const char *nn_onnx_as_nchw(nn_onnx_graph *g, const char *in, int channels)
{
    if (g->rank == 4)
        return in;
    reshape_to_nchw(g, in, channels, "shape", "nchw");
    g->rank = 4;
    return nn_onnx_name(g, "nchw");
}

const char *nn_onnx_input_nchw(nn_onnx_graph *g, int k, int channels)
{
    char shape_what[16], out_what[16];
    if (g->in_rank[k] == 4)
        return g->in[k];
    snprintf(shape_what, sizeof shape_what, "shape%d", k);
    snprintf(out_what, sizeof out_what, "nchw%d", k);
    reshape_to_nchw(g, g->in[k], channels, shape_what, out_what);
    return nn_onnx_name(g, out_what);
}

const nn_onnx_attr *nn_onnx_attr_find(const nn_onnx_node_in *node,
                                      const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < node->n_attrs; i++)
        if (node->attrs[i].name_size == len &&
            !memcmp(node->attrs[i].name, name, len))
            return &node->attrs[i];
    return NULL;
}

int nn_onnx_same_ints(const nn_onnx_node_in *node, const char *name, int n,
                      int def, int *v)
{
    const nn_onnx_attr *a = nn_onnx_attr_find(node, name);
    if (!a) {
        *v = def;
        return 1;
    }
    if (a->n_ints != n || a->ints[0] < 0 || a->ints[0] > (1 << 20))
        return 0;
    for (int i = 1; i < n; i++)
        if (a->ints[i] != a->ints[0])
            return 0;
    *v = (int)a->ints[0];
    return 1;
}

float *nn_onnx_copy(const nn_onnx_tensor *t)
{
    float *x = malloc((t->count ? t->count : 1) * sizeof(float));
    if (x)
        memcpy(x, t->values, t->count * sizeof(float));
    return x;
}
