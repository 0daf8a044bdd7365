/* ONNX export: a ModelProto (IR version 7, opset 13) written by the small
 * protobuf writer of protobuf.c. Every layer kind writes its own nodes and
 * initializers (its onnx_export in src/layers/layer_<name>.c); this file
 * writes what is around them: the graph's input (N, C, H, W) with a
 * symbolic batch N, its output, the optional final Softmax, the opset and
 * the input normalisation as metadata. Field numbers: onnx/onnx.proto. */
#include "io/onnx.h"

#include <stdio.h>
#include <string.h>

#include "core/net_internal.h"
#include "core/util.h"
#include "io/io.h"

#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_MAX_BYTES ((size_t)1 << 31)

/* ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto and type fields used here. */
enum {
    MODEL_IR_VERSION = 1, MODEL_PRODUCER = 2, MODEL_PRODUCER_VERSION = 3,
    MODEL_GRAPH = 7, MODEL_OPSET = 8, MODEL_METADATA = 14,
    OPSET_DOMAIN = 1, OPSET_VERSION = 2,
    GRAPH_NODE = 1, GRAPH_NAME = 2, GRAPH_INITIALIZER = 5, GRAPH_INPUT = 11,
    GRAPH_OUTPUT = 12,
    NODE_INPUT = 1, NODE_OUTPUT = 2, NODE_NAME = 3, NODE_OP = 4, NODE_ATTR = 5,
    ATTR_NAME = 1, ATTR_F = 2, ATTR_I = 3, ATTR_INTS = 8, ATTR_TYPE = 20,
    ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS_TYPE = 7,
    TENSOR_DIMS = 1, TENSOR_TYPE = 2, TENSOR_NAME = 8, TENSOR_RAW = 9,
    TENSOR_FLOAT = 1,
    VALUE_NAME = 1, VALUE_TYPE = 2, TYPE_TENSOR = 1, TENSOR_ELEM = 1,
    TENSOR_SHAPE = 2, SHAPE_DIM = 1, DIM_VALUE = 1, DIM_PARAM = 2,
    ENTRY_KEY = 1, ENTRY_VALUE = 2
};

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
    for (int i = 0; i < n_inputs; i++)
        nn_pb_string(g->graph, NODE_INPUT, inputs[i]);
    nn_pb_string(g->graph, NODE_OUTPUT, output);
    nn_pb_string(g->graph, NODE_NAME, nn_onnx_name(g, op_type));
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

const char *nn_onnx_as_nchw(nn_onnx_graph *g, const char *in, int channels)
{
    static const char *const suffix[2] = {"shape", "nchw"};
    char shape_name[64], out[64];
    const char *inputs[2] = {in, shape_name};
    size_t mark;
    if (g->rank == 4)
        return in;
    snprintf(shape_name, sizeof shape_name, "%s", nn_onnx_name(g, suffix[0]));
    snprintf(out, sizeof out, "%s", nn_onnx_name(g, suffix[1]));
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
    g->rank = 4;
    return nn_onnx_name(g, suffix[1]);
}

/* A float tensor's type and shape: dims[0] < 0 is the symbolic batch. */
static void value_info(nn_pb_writer *w, int field, const char *name,
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

/* The graph: every layer's nodes from "input" to "output". */
static void write_graph(nn_net *net, nn_pb_writer *w, int softmax)
{
    nn_onnx_graph g = {w, 0, 4, ""};
    char in[64] = "input", out[64];
    int last = -1, out_dims[4] = {-1, 0, 1, 1};
    size_t graph = nn_pb_begin(w, MODEL_GRAPH);
    nn_pb_string(w, GRAPH_NAME, "libnn");
    for (int i = 0; i < net->count; i++)
        if (net->layers[i]->kind->onnx_export)
            last = i;
    for (int i = 0; i <= last; i++) {
        const nn_layer *layer = net->layers[i];
        if (!layer->kind->onnx_export)
            continue; /* passes its input on */
        g.layer = i;
        if (i == last)
            snprintf(out, sizeof out, "%s", softmax ? "logits" : "output");
        else
            snprintf(out, sizeof out, "L%d_out", i);
        layer->kind->onnx_export(layer, &g, in, out);
        snprintf(in, sizeof in, "%s", out);
    }
    if (last < 0 || softmax) {
        const char *x = in;
        g.layer = net->count;
        if (softmax && g.rank != 2) {
            nn_pb_end(w, nn_onnx_node(&g, "Flatten", &x, 1, "flat_logits"));
            x = "flat_logits";
            g.rank = 2;
        }
        nn_pb_end(w, nn_onnx_node(&g, softmax ? "Softmax" : "Identity", &x, 1,
                                  "output"));
    }
    {
        int in_dims[4] = {-1, net->in_c, net->in_h, net->in_w};
        const nn_tensor *o = &net->tensors[net->count];
        value_info(w, GRAPH_INPUT, "input", in_dims, 4);
        out_dims[1] = g.rank == 2 ? o->c * o->h * o->w : o->c;
        out_dims[2] = o->h;
        out_dims[3] = o->w;
        value_info(w, GRAPH_OUTPUT, "output", out_dims, g.rank);
    }
    nn_pb_end(w, graph);
}

nn_status nn_onnx_save(nn_net *net, const char *path, unsigned flags,
                       char *msg, size_t msg_size)
{
    nn_pb_writer w;
    char normalization[160];
    size_t mark;
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !path || (flags & ~(unsigned)NN_ONNX_SOFTMAX)) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    if (!net->built) {
        nn_format_msg(msg, msg_size, "%s: the net is not built", path);
        return NN_ESTATE;
    }
    nn_pb_init(&w, ONNX_MAX_BYTES);
    nn_pb_varint(&w, MODEL_IR_VERSION, ONNX_IR_VERSION);
    nn_pb_string(&w, MODEL_PRODUCER, "libnn");
    nn_pb_string(&w, MODEL_PRODUCER_VERSION, nn_version());
    write_graph(net, &w, (flags & NN_ONNX_SOFTMAX) != 0);
    mark = nn_pb_begin(&w, MODEL_OPSET);
    nn_pb_string(&w, OPSET_DOMAIN, "");
    nn_pb_varint(&w, OPSET_VERSION, ONNX_OPSET);
    nn_pb_end(&w, mark);
    /* what libnn needs to feed the model as it was trained: x = (v/255 -
     * mean) / std per channel */
    snprintf(normalization, sizeof normalization, "%.9g %.9g %.9g %.9g %.9g %.9g",
             (double)net->mean[0], (double)net->mean[1], (double)net->mean[2],
             (double)net->std[0], (double)net->std[1], (double)net->std[2]);
    mark = nn_pb_begin(&w, MODEL_METADATA);
    nn_pb_string(&w, ENTRY_KEY, "libnn.normalization");
    nn_pb_string(&w, ENTRY_VALUE, normalization);
    nn_pb_end(&w, mark);
    if (w.failed) {
        nn_format_msg(msg, msg_size, "%s: the model does not fit in %zu bytes "
                      "of memory", path, ONNX_MAX_BYTES);
        st = NN_ENOMEM;
    } else
        st = nn_write_file_atomic(path, w.data, w.size, msg, msg_size);
    nn_pb_free(&w);
    return st;
}
