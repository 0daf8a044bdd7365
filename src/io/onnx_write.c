/* ONNX export: a ModelProto (IR version 7, opset 13) written by the small
 * protobuf writer of protobuf.c. Every layer kind writes its own nodes and
 * initializers (its export_nodes in src/io/onnx_layers.c), reading the
 * tensors its layer reads by name ("input", "L<j>_out"); this file writes
 * what is around them: the graph's input (N, C, H, W) with a symbolic
 * batch N, its output, the optional final Softmax, the opset and the input
 * normalisation as metadata. Field numbers: onnx/onnx.proto. */
#include "io/onnx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_internal.h"
#include "core/util.h"
#include "io/io.h"

#define ONNX_IR_VERSION 7
#define ONNX_OPSET 13
#define ONNX_MAX_BYTES ((size_t)1 << 31)

/* The name of tensor t in the graph (0 the input, j + 1 layer j's
 * output; the last is the graph's output, or its logits before a Softmax). */
static void tensor_name(const nn_net *net, int t, int softmax, char *buf,
                        size_t size)
{
    if (t == 0)
        snprintf(buf, size, "input");
    else if (t == net->count)
        snprintf(buf, size, "%s", softmax ? "logits" : "output");
    else
        snprintf(buf, size, "L%d_out", t - 1);
}

/* The graph: every layer's nodes, each reading the tensors its layer reads,
 * from "input" to "output". rank[t] is tensor t's rank, as the layer that
 * writes it leaves g.rank. */
static nn_status write_graph(nn_net *net, nn_pb_writer *w, int softmax,
                             int *rank)
{
    nn_onnx_graph g = {.graph = w, .rank = 4};
    char in[NN_MAX_INPUTS][64], out[64];
    int out_dims[4] = {-1, 0, 1, 1};
    size_t graph = nn_pb_begin(w, MODEL_GRAPH);
    nn_pb_string(w, GRAPH_NAME, "libnn");
    rank[0] = 4;
    for (int i = 0; i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        const nn_onnx_kind *onnx = nn_onnx_kind_of(layer->kind);
        if (!onnx)
            return NN_EINVAL;
        g.layer = i;
        g.inputs = layer->inputs;
        for (int k = 0; k < layer->inputs; k++) {
            tensor_name(net, layer->reads[k], softmax, in[k], sizeof in[k]);
            g.in[k] = in[k];
            g.in_rank[k] = rank[layer->reads[k]];
        }
        tensor_name(net, i + 1, softmax, out, sizeof out);
        g.out = out;
        g.label = layer->name;
        g.rank = g.in_rank[0];
        onnx->export_nodes(layer, &g, in[0], out);
        rank[i + 1] = g.rank;
    }
    g.out = g.label = NULL;
    g.rank = rank[net->count];
    if (net->count == 0 || softmax) {
        const char *x = net->count ? "logits" : "input";
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
        nn_onnx_value_info(w, GRAPH_INPUT, "input", in_dims, 4);
        out_dims[1] = g.rank == 2 ? o->c * o->h * o->w : o->c;
        out_dims[2] = o->h;
        out_dims[3] = o->w;
        nn_onnx_value_info(w, GRAPH_OUTPUT, "output", out_dims, g.rank);
    }
    nn_pb_end(w, graph);
    return NN_OK;
}

nn_status nn_onnx_model_end(nn_pb_writer *w, int opset, const float mean[3],
                            const float std[3], const char *path, char *msg,
                            size_t msg_size)
{
    char normalization[160];
    size_t mark;
    nn_status st;
    mark = nn_pb_begin(w, MODEL_OPSET);
    nn_pb_string(w, OPSET_DOMAIN, "");
    nn_pb_varint(w, OPSET_VERSION, opset);
    nn_pb_end(w, mark);
    /* what libnn needs to feed the model as it was trained: x = (v/255 -
     * mean) / std per channel */
    snprintf(normalization, sizeof normalization,
             "%.9g %.9g %.9g %.9g %.9g %.9g", (double)mean[0], (double)mean[1],
             (double)mean[2], (double)std[0], (double)std[1], (double)std[2]);
    mark = nn_pb_begin(w, MODEL_METADATA);
    nn_pb_string(w, ENTRY_KEY, "libnn.normalization");
    nn_pb_string(w, ENTRY_VALUE, normalization);
    nn_pb_end(w, mark);
    if (w->failed) {
        nn_format_msg(msg, msg_size, "%s: the model does not fit in %zu bytes "
                      "of memory", path, ONNX_MAX_BYTES);
        st = NN_ENOMEM;
    } else
        st = nn_write_file_atomic(path, w->data, w->size, msg, msg_size);
    nn_pb_free(w);
    return st;
}

nn_status nn_onnx_save(nn_net *net, const char *path, unsigned flags,
                       char *msg, size_t msg_size)
{
    nn_pb_writer w;
    int *rank;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !path || (flags & ~(unsigned)NN_ONNX_SOFTMAX)) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    if (!net->built) {
        nn_format_msg(msg, msg_size, "%s: the net is not built", path);
        return NN_ESTATE;
    }
    rank = malloc(((size_t)net->count + 1) * sizeof *rank);
    if (!rank) {
        nn_format_msg(msg, msg_size, "%s: out of memory", path);
        return NN_ENOMEM;
    }
    nn_pb_init(&w, ONNX_MAX_BYTES);
    nn_pb_varint(&w, MODEL_IR_VERSION, ONNX_IR_VERSION);
    nn_pb_string(&w, MODEL_PRODUCER, "libnn");
    nn_pb_string(&w, MODEL_PRODUCER_VERSION, nn_version());
    if (write_graph(net, &w, (flags & NN_ONNX_SOFTMAX) != 0, rank) != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: a layer has no ONNX form", path);
        free(rank);
        nn_pb_free(&w);
        return NN_EINVAL;
    }
    free(rank);
    return nn_onnx_model_end(&w, ONNX_OPSET, net->mean, net->std, path, msg,
                             msg_size);
}
