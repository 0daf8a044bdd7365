/* ONNX import: the protobuf reader of protobuf.c over a whole file, every
 * length and count checked against the bytes before anything of that size
 * is allocated. The graph must be a chain: each node reads the previous
 * node's output and initializers. Structural nodes (Flatten, Reshape,
 * Identity, a final Softmax, the Add after a MatMul) are handled here;
 * every other operator goes to the layer kind whose ONNX mapping names it
 * (src/io/onnx_layers.c), which reads its attributes and weights. */
#include "io/onnx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/io.h"
#include "io/model_file.h"
#include "layers/layer.h"
#include "net/net.h"

#define ONNX_MAX_BYTES ((size_t)1 << 31)
#define MAX_NODES 4096
#define MAX_INITIALIZERS 4096
#define MAX_NAME 128
#define MAX_OUTPUTS 8
/* The opsets of the default domain whose operators libnn reads as ONNX
 * defines them: Dropout's ratio as an input or an attribute; what differs
 * before opset 9 (BatchNormalization's spatial, opset 6's is_test and
 * broadcast) checked by older_opset_fits; Pad only from opset 11, where its
 * pads are an input (before, an attribute libnn does not read). */
#define OPSET_MIN 6
#define OPSET_MAX 21

/* An initializer as found in the file: float values are copied out (the
 * file's bytes need not be aligned); int64 ones only keep their count. */
typedef struct {
    char name[MAX_NAME];
    nn_onnx_tensor t;
    int is_float;
    float *owned;
    int64_t ints[8]; /* an int64 tensor's values, when it has at most 8 */
    int n_ints;      /* how many of them; -1 when not kept (or not int64) */
} initializer;

/* What the reader collects from the graph. */
typedef struct {
    initializer *inits;
    int n_inits;
    nn_pb_field nodes[MAX_NODES];
    int n_nodes;
    nn_pb_field inputs[64];
    int n_inputs;
    char outputs[MAX_OUTPUTS][MAX_NAME]; /* graph.output's names */
    int n_outputs;                       /* all of them, even past 8 */
    int64_t opset;                       /* the default domain's, or -1 */
    float mean[3], std[3];
    int has_normalization;
} onnx_model;

/* Copies the bytes of a string field into a NUL-terminated buffer; 0 when
 * it does not fit or holds a NUL. */
static int copy_name(char *dst, size_t size, const nn_pb_field *f)
{
    if (f->wire != NN_PB_BYTES || f->size >= size || memchr(f->data, 0, f->size))
        return 0;
    memcpy(dst, f->data, f->size);
    dst[f->size] = '\0';
    return 1;
}

/* Reads n little-endian floats from p. */
static void read_floats(const unsigned char *p, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                        (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        memcpy(&x[i], &bits, sizeof bits);
    }
}

/* The values of an INT64 tensor of at most 8 values into in->ints (and
 * in->n_ints), from raw_data or int64_data (field 7, packed or not); longer
 * ones are not kept (n_ints -1). 0 with why set when the count does not
 * match the shape. */
static int read_int64s(nn_pb_reader *r, initializer *in,
                       const unsigned char *raw, size_t raw_size, char *why,
                       size_t why_size)
{
    size_t count = in->t.count, k = 0;
    nn_pb_field f;
    in->n_ints = -1;
    if (count > 8)
        return 1;
    if (raw) {
        if (raw_size != 8 * count)
            goto wrong;
        for (size_t i = 0; i < count; i++)
            for (int b = 0; b < 8; b++)
                in->ints[i] |= (int64_t)((uint64_t)raw[8 * i + (size_t)b] << (8 * b));
        in->n_ints = (int)count;
        return 1;
    }
    while (nn_pb_next(r, &f) == 1) {
        if (f.field == 7 && f.wire == NN_PB_VARINT) {
            if (k == count)
                goto wrong;
            in->ints[k++] = (int64_t)f.value;
        } else if (f.field == 7 && f.wire == NN_PB_BYTES) {
            nn_pb_reader run = nn_pb_sub(&f); /* packed: varints back to back */
            uint64_t v;
            while (run.p < run.end) {
                if (k == count || !nn_pb_read_varint(&run, &v))
                    goto wrong;
                in->ints[k++] = (int64_t)v;
            }
        }
    }
    if (k != count)
        goto wrong;
    in->n_ints = (int)count;
    return 1;
wrong:
    nn_format_msg(why, why_size, "int64 initializer '%.60s' does not hold "
                  "the %zu values of its shape", in->name, count);
    return 0;
}

/* A TensorProto into *in: dims, type, name, and float data from raw_data
 * or from float_data in any legal encoding: values one by one, packed runs,
 * or a mix of both in any order (a repeated field's values are the
 * concatenation of all its occurrences). */
static int parse_tensor(const nn_pb_field *msg, initializer *in,
                        const char *name, char *why, size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(msg);
    nn_pb_field f;
    const unsigned char *raw = NULL;
    size_t raw_size = 0, count = 1, floats = 0;
    int type = 0, status, named = 0;
    nn_pb_reader again = r; /* float_data is counted, then read */
    memset(in, 0, sizeof *in);
    in->n_ints = -1;
    while ((status = nn_pb_next(&r, &f)) == 1) {
        if (f.field == 1 && f.wire == NN_PB_VARINT) { /* dims */
            if (in->t.rank == 8 || f.value == 0 || f.value > (1u << 30) ||
                !nn_mul_size(count, (size_t)f.value, &count) || count > (1u << 30)) {
                nn_format_msg(why, why_size, "an initializer has a bad shape");
                return 0;
            }
            in->t.dims[in->t.rank++] = (int64_t)f.value;
        } else if (f.field == 2 && f.wire == NN_PB_VARINT)
            type = (int)f.value;
        else if (f.field == 8)
            named = copy_name(in->name, sizeof in->name, &f);
        else if (f.field == 9 && f.wire == NN_PB_BYTES) {
            raw = f.data;
            raw_size = f.size;
        } else if (f.field == 4 && f.wire == NN_PB_BYTES) {
            if (f.size % 4) {
                nn_format_msg(why, why_size, "float_data of %zu bytes", f.size);
                return 0;
            }
            floats += f.size / 4; /* a packed run */
        } else if (f.field == 4 && f.wire == NN_PB_FIXED32)
            floats++;
        else if (f.field == 13) {
            nn_format_msg(why, why_size, "initializer data stored outside the "
                          "file is not supported");
            return 0;
        }
    }
    if (name && strlen(name) < sizeof in->name) { /* a Constant's value */
        strcpy(in->name, name);
        named = 1;
    }
    if (status < 0 || !named) {
        nn_format_msg(why, why_size, "a malformed initializer");
        return 0;
    }
    in->t.count = count;
    if (type == 7) /* INT64: shapes for Reshape, pads for Pad */
        return read_int64s(&again, in, raw, raw_size, why, why_size);
    if (type != 1) {
        nn_format_msg(why, why_size, "initializer '%.60s' has data type %d; "
                      "libnn reads float (1)", in->name, type);
        return 0;
    }
    if (raw && floats) {
        nn_format_msg(why, why_size, "initializer '%.60s' has both raw_data "
                      "and float_data", in->name);
        return 0;
    }
    if (raw ? raw_size != 4 * count : floats != count) {
        nn_format_msg(why, why_size, "initializer '%.60s' holds %zu values, its "
                      "shape %zu", in->name, raw ? raw_size / 4 : floats, count);
        return 0;
    }
    in->owned = malloc(count * sizeof(float));
    if (!in->owned) {
        nn_format_msg(why, why_size, "out of memory");
        return 0;
    }
    if (raw)
        read_floats(raw, in->owned, count);
    else {
        size_t k = 0; /* the runs and single values in file order */
        while (nn_pb_next(&again, &f) == 1)
            if (f.field == 4 && f.wire == NN_PB_FIXED32)
                in->owned[k++] = nn_pb_to_float(&f);
            else if (f.field == 4 && f.wire == NN_PB_BYTES) {
                read_floats(f.data, in->owned + k, f.size / 4);
                k += f.size / 4;
            }
    }
    in->t.values = in->owned;
    in->is_float = 1;
    return 1;
}

/* One of graph.output (a ValueInfoProto): its name, kept when there is
 * room; 0 with why set when it has none. */
static int graph_output(onnx_model *m, const nn_pb_field *value, char *why,
                        size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(value);
    nn_pb_field f;
    char name[MAX_NAME] = "";
    int named = 0;
    while (nn_pb_next(&r, &f) == 1)
        if (f.field == 1 && !(named = copy_name(name, sizeof name, &f))) {
            nn_format_msg(why, why_size, "a graph output's name is longer "
                          "than %d bytes or holds a NUL", MAX_NAME - 1);
            return 0;
        }
    if (!named || !name[0]) {
        nn_format_msg(why, why_size, "a graph output without a name");
        return 0;
    }
    if (m->n_outputs < MAX_OUTPUTS)
        strcpy(m->outputs[m->n_outputs], name);
    m->n_outputs++;
    return 1;
}

/* The graph's fields: nodes, initializers, inputs and outputs. */
static int parse_graph(const nn_pb_field *graph, onnx_model *m, char *why,
                       size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(graph);
    nn_pb_field f;
    int status, inits = 0, nodes = 0;
    nn_pb_reader count = r;
    while ((status = nn_pb_next(&count, &f)) == 1) {
        inits += f.field == 5;
        nodes += f.field == 1;
    }
    if (status < 0 || nodes > MAX_NODES || inits > MAX_INITIALIZERS) {
        if (status < 0)
            nn_format_msg(why, why_size, "malformed graph");
        else if (nodes > MAX_NODES)
            nn_format_msg(why, why_size, "%d nodes: libnn reads at most %d",
                          nodes, MAX_NODES);
        else
            nn_format_msg(why, why_size, "%d initializers: libnn reads at "
                          "most %d", inits, MAX_INITIALIZERS);
        return 0;
    }
    /* every Constant node becomes one more initializer */
    m->inits = calloc((size_t)(inits + nodes) + 1, sizeof *m->inits);
    if (!m->inits) {
        nn_format_msg(why, why_size, "out of memory");
        return 0;
    }
    while (nn_pb_next(&r, &f) == 1) {
        if (f.wire != NN_PB_BYTES)
            continue;
        if (f.field == 1) {
            if (m->n_nodes == MAX_NODES) {
                nn_format_msg(why, why_size, "more than %d nodes", MAX_NODES);
                return 0;
            }
            m->nodes[m->n_nodes++] = f;
        } else if (f.field == 5) {
            if (!parse_tensor(&f, &m->inits[m->n_inits], NULL, why, why_size))
                return 0;
            m->n_inits++;
        } else if (f.field == 11 && m->n_inputs < 64)
            m->inputs[m->n_inputs++] = f;
        else if (f.field == 12 && !graph_output(m, &f, why, why_size))
            return 0;
    }
    return 1;
}

/* "libnn.normalization" metadata, when present and valid. */
static void parse_metadata(const nn_pb_field *entry, onnx_model *m)
{
    nn_pb_reader r = nn_pb_sub(entry);
    nn_pb_field f;
    char key[64] = "", value[256] = "";
    while (nn_pb_next(&r, &f) == 1) {
        if (f.field == 1)
            copy_name(key, sizeof key, &f);
        else if (f.field == 2)
            copy_name(value, sizeof value, &f);
    }
    if (!strcmp(key, "libnn.normalization") &&
        sscanf(value, "%f %f %f %f %f %f", &m->mean[0], &m->mean[1], &m->mean[2],
               &m->std[0], &m->std[1], &m->std[2]) == 6)
        m->has_normalization = 1;
}

/* One of opset_import (an OperatorSetIdProto): the version of the default
 * domain ("" or "ai.onnx") into m->opset. */
static void parse_opset(const nn_pb_field *entry, onnx_model *m)
{
    nn_pb_reader r = nn_pb_sub(entry);
    nn_pb_field f;
    char domain[MAX_NAME] = "";
    int64_t version = -1;
    while (nn_pb_next(&r, &f) == 1) {
        if (f.field == 1)
            copy_name(domain, sizeof domain, &f);
        else if (f.field == 2 && f.wire == NN_PB_VARINT)
            version = (int64_t)f.value;
    }
    if (!domain[0] || !strcmp(domain, "ai.onnx"))
        m->opset = version;
}

/* The ModelProto: its graph, opset and metadata. */
static int parse_model(const unsigned char *data, size_t size, onnx_model *m,
                       char *why, size_t why_size)
{
    nn_pb_reader r = {data, data + size};
    nn_pb_field f, graph = {0, 0, 0, NULL, 0};
    int status, has_graph = 0;
    m->opset = -1;
    while ((status = nn_pb_next(&r, &f)) == 1) {
        if (f.field == 7 && f.wire == NN_PB_BYTES) {
            graph = f;
            has_graph = 1;
        } else if (f.field == 14 && f.wire == NN_PB_BYTES)
            parse_metadata(&f, m);
        else if (f.field == 8 && f.wire == NN_PB_BYTES)
            parse_opset(&f, m);
    }
    if (status < 0 || !has_graph) {
        nn_format_msg(why, why_size, status < 0 ? "not a valid ONNX (protobuf) "
                      "file" : "no graph in the file");
        return 0;
    }
    if (m->opset < OPSET_MIN || m->opset > OPSET_MAX) {
        if (m->opset < 0)
            nn_format_msg(why, why_size, "the model imports no opset of the "
                          "default domain: libnn reads opsets %d to %d",
                          OPSET_MIN, OPSET_MAX);
        else
            nn_format_msg(why, why_size, "opset %lld: libnn reads opsets %d "
                          "to %d", (long long)m->opset, OPSET_MIN, OPSET_MAX);
        return 0;
    }
    return parse_graph(&graph, m, why, why_size);
}

static const initializer *find_init(const onnx_model *m, const char *name)
{
    for (int i = 0; i < m->n_inits; i++)
        if (!strcmp(m->inits[i].name, name))
            return &m->inits[i];
    return NULL;
}

/* The graph input that is not an initializer: its name and (C, H, W). */
static int graph_input(const onnx_model *m, char *name, int shape[3],
                       char *why, size_t why_size)
{
    for (int i = 0; i < m->n_inputs; i++) {
        nn_pb_reader r = nn_pb_sub(&m->inputs[i]), t;
        nn_pb_field f;
        int64_t dims[4];
        int rank = 0, ok = 1;
        char input[MAX_NAME] = "";
        while (nn_pb_next(&r, &f) == 1)
            if (f.field == 1)
                copy_name(input, sizeof input, &f);
            else if (f.field == 2 && f.wire == NN_PB_BYTES) {
                /* TypeProto -> tensor_type (1) -> shape (2) -> dim (1) */
                nn_pb_field a, b, c, d;
                t = nn_pb_sub(&f);
                while (nn_pb_next(&t, &a) == 1) {
                    nn_pb_reader ta = nn_pb_sub(&a);
                    if (a.field != 1 || a.wire != NN_PB_BYTES)
                        continue;
                    while (nn_pb_next(&ta, &b) == 1) {
                        nn_pb_reader tb = nn_pb_sub(&b);
                        if (b.field != 2 || b.wire != NN_PB_BYTES)
                            continue;
                        while (nn_pb_next(&tb, &c) == 1) {
                            nn_pb_reader tc = nn_pb_sub(&c);
                            int64_t v = -1;
                            if (c.field != 1 || c.wire != NN_PB_BYTES)
                                continue;
                            while (nn_pb_next(&tc, &d) == 1)
                                if (d.field == 1 && d.wire == NN_PB_VARINT)
                                    v = (int64_t)d.value;
                            if (rank == 4)
                                ok = 0;
                            else
                                dims[rank++] = v;
                        }
                    }
                }
            }
        if (!input[0] || find_init(m, input))
            continue;
        if (!ok || (rank != 4 && rank != 2)) {
            nn_format_msg(why, why_size, "input '%.60s' is not (N, C, H, W) or "
                          "(N, F)", input);
            return 0;
        }
        for (int k = 1; k < rank; k++)
            if (dims[k] <= 0 || dims[k] > (1 << 20)) {
                nn_format_msg(why, why_size, "input '%.60s' has no fixed size in "
                              "dimension %d", input, k);
                return 0;
            }
        shape[0] = (int)dims[1];
        shape[1] = rank == 4 ? (int)dims[2] : 1;
        shape[2] = rank == 4 ? (int)dims[3] : 1;
        strcpy(name, input);
        return 1;
    }
    nn_format_msg(why, why_size, "the graph has no input");
    return 0;
}

/* A NodeProto into node (names copied into names[]), its first output into
 * output; 0 with why set when it is malformed or too large. */
static int parse_node(const onnx_model *m, const nn_pb_field *msg, int index,
                      nn_onnx_node_in *node, char names[8][MAX_NAME],
                      char *output, char *why, size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(msg);
    nn_pb_field f;
    int status, outputs = 0;
    memset(node, 0, sizeof *node);
    node->index = index;
    output[0] = '\0';
    while ((status = nn_pb_next(&r, &f)) == 1) {
        if (f.field == 1 && f.wire == NN_PB_BYTES) {
            if (node->n_inputs == 8 ||
                !copy_name(names[node->n_inputs], MAX_NAME, &f))
                break;
            node->inputs[node->n_inputs] = names[node->n_inputs];
            node->n_inputs++;
        } else if (f.field == 2 && f.wire == NN_PB_BYTES) {
            if (outputs++ == 0 && !copy_name(output, MAX_NAME, &f))
                break;
        } else if (f.field == 4 && f.wire == NN_PB_BYTES) {
            if (!copy_name(node->op, sizeof node->op, &f))
                break;
        } else if (f.field == 5 && f.wire == NN_PB_BYTES) {
            nn_pb_reader ar = nn_pb_sub(&f);
            nn_pb_field a;
            nn_onnx_attr *at;
            if (node->n_attrs == 16)
                break;
            at = &node->attrs[node->n_attrs++];
            memset(at, 0, sizeof *at);
            while (nn_pb_next(&ar, &a) == 1) {
                if (a.field == 1 && a.wire == NN_PB_BYTES) {
                    at->name = (const char *)a.data;
                    at->name_size = a.size;
                } else if (a.field == 2 && a.wire == NN_PB_FIXED32)
                    at->f = nn_pb_to_float(&a);
                else if (a.field == 3 && a.wire == NN_PB_VARINT)
                    at->i = (int64_t)a.value;
                else if (a.field == 20 && a.wire == NN_PB_VARINT)
                    at->type = (int)a.value;
                else if (a.field == 5 && a.wire == NN_PB_BYTES)
                    at->t = a;
                else if (a.field == 4 && a.wire == NN_PB_BYTES)
                    at->s = a;
                else if (a.field == 8 && a.wire == NN_PB_VARINT) {
                    if (at->n_ints >= 0 && at->n_ints < 8)
                        at->ints[at->n_ints++] = (int64_t)a.value;
                    else
                        at->n_ints = -1;
                } else if (a.field == 8 && a.wire == NN_PB_BYTES) {
                    nn_pb_reader pr = {a.data, a.data + a.size};
                    /* packed ints: a run of varints, read one by one */
                    while (pr.p < pr.end) {
                        uint64_t value;
                        if (!nn_pb_read_varint(&pr, &value)) {
                            at->n_ints = -1;
                            break;
                        }
                        if (at->n_ints >= 0 && at->n_ints < 8)
                            at->ints[at->n_ints++] = (int64_t)value;
                        else
                            at->n_ints = -1;
                    }
                }
            }
        }
    }
    if (status != 0 || !node->op[0] || !output[0]) {
        nn_format_msg(why, why_size, "node %d is malformed, or has too many "
                      "inputs, attributes or too long a name", index);
        return 0;
    }
    for (int i = 0; i < node->n_inputs; i++) {
        const initializer *in = find_init(m, node->inputs[i]);
        node->init[i] = in && in->is_float ? &in->t : NULL;
    }
    return 1;
}

/* The layers read so far, with their weights. */
typedef struct {
    const nn_layer_kind *kind;
    nn_onnx_layer_in in;
} imported;

/* The zero padding of a Pad node that pads height and width alike by p:
 * p, or -1 when it pads otherwise. */
static int symmetric_zero_pad(const onnx_model *m, const nn_onnx_node_in *node)
{
    const nn_onnx_attr *mode = nn_onnx_attr_find(node, "mode");
    const initializer *pads = node->n_inputs > 1 ? find_init(m, node->inputs[1]) : NULL;
    const nn_onnx_tensor *value = node->n_inputs > 2 ? node->init[2] : NULL;
    const int64_t *p = pads ? pads->ints : NULL;
    if ((mode && mode->s.data && (mode->s.size != 8 || memcmp(mode->s.data, "constant", 8))) ||
        !pads || pads->n_ints != 8 || (value && (value->count != 1 || value->values[0] != 0.0f)))
        return -1;
    /* (begin, end) of N, C, H, W: [bN, bC, bH, bW, eN, eC, eH, eW] */
    if (p[0] || p[1] || p[4] || p[5] || p[2] != p[3] || p[2] != p[6] ||
        p[2] != p[7] || p[2] < 0 || p[2] > (1 << 10))
        return -1;
    return (int)p[2];
}

/* Structural nodes: 1 when node was one (and handled), 0 when it is not,
 * -1 when it is one libnn cannot take (why set). */
static int structural(const onnx_model *m, const nn_onnx_node_in *node,
                      int last, imported *layers, int n_layers, int *rank,
                      int *pending_pad, char *why, size_t why_size)
{
    const initializer *shape;
    if (!strcmp(node->op, "Identity"))
        return 1;
    if (!strcmp(node->op, "Pad")) {
        int pad = symmetric_zero_pad(m, node);
        if (m->opset < 11 || (node->n_inputs > 3 && node->inputs[3][0])) {
            nn_format_msg(why, why_size, "node %d 'Pad': %s", node->index,
                          m->opset < 11 ? "before opset 11 its pads are an "
                          "attribute, which libnn does not read"
                          : "libnn reads pads over (N, C, H, W), not over "
                          "the axes of an `axes` input");
            return -1;
        }
        if (pad >= 0 && *rank == 4 && *pending_pad + pad <= (1 << 10)) {
            *pending_pad += pad; /* Pads in a row add up */
            return 1;
        }
        nn_format_msg(why, why_size, "node %d 'Pad': libnn pads height and "
                      "width alike with zeros, before a convolution or an "
                      "average pooling", node->index);
        return -1;
    }
    if (!strcmp(node->op, "Flatten")) {
        const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
        if (axis && axis->i != 1 && axis->i != 1 - *rank) { /* -3 of NCHW */
            nn_format_msg(why, why_size, "node %d 'Flatten' with axis %lld: "
                          "libnn flattens from axis 1", node->index,
                          (long long)axis->i);
            return -1;
        }
        *rank = 2;
        return 1;
    }
    if (!strcmp(node->op, "Reshape")) {
        /* to (N, features), or features to (N, C, 1, 1): both keep the
         * order of the values, so neither is a layer in libnn */
        shape = node->n_inputs == 2 ? find_init(m, node->inputs[1]) : NULL;
        if (shape && shape->n_ints == (int)shape->t.count &&
            (shape->t.count == 2 ||
             (shape->t.count == 4 && *rank == 2 && shape->ints[2] == 1 &&
              shape->ints[3] == 1))) {
            *rank = (int)shape->t.count;
            return 1;
        }
        nn_format_msg(why, why_size, "node %d 'Reshape': libnn reshapes only "
                      "to (N, features) or from them to (N, C, 1, 1)",
                      node->index);
        return -1;
    }
    if (!strcmp(node->op, "Softmax")) {
        /* over all of a sample's values, as libnn's loss: axis 1 (or -1)
         * of (N, F); of (N, C, H, W) only before opset 13, where axis 1
         * flattens to (N, C*H*W) */
        const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
        int64_t a = axis ? axis->i : m->opset < 13 ? 1 : -1;
        if (last && (*rank == 2 ? a == 1 || a == -1
                                : m->opset < 13 && (a == 1 || a == -3)))
            return 1; /* libnn's output is the logits before it */
        nn_format_msg(why, why_size, last ? "node %d 'Softmax' over axis %lld "
                      "of a %d-D tensor: libnn's softmax (in its loss) is over "
                      "each sample's values" : "node %d 'Softmax' before the "
                      "last node: libnn has softmax only in its loss",
                      node->index, (long long)a, *rank);
        return -1;
    }
    if (!strcmp(node->op, "Add")) {
        const nn_onnx_tensor *b = node->n_inputs == 2 ? node->init[1] : NULL;
        nn_onnx_layer_in *prev = n_layers ? &layers[n_layers - 1].in : NULL;
        if (b && prev && prev->bias_at != SIZE_MAX &&
            prev->bias_at + b->count == prev->n_params &&
            (b->rank == 0 || (size_t)b->dims[b->rank - 1] == b->count)) {
            /* (F) or (1, F); (F, 1) would broadcast along the batch */
            for (size_t i = 0; i < b->count; i++)
                prev->params[prev->bias_at + i] += b->values[i];
            prev->bias_at = SIZE_MAX; /* one bias only */
            return 1;
        }
        nn_format_msg(why, why_size, "node %d 'Add'%s", node->index,
                      b ? ": not the bias of a MatMul before it"
                        : " (residual connection): libnn nets are sequential");
        return -1;
    }
    return 0;
}

/* Opsets 6 to 8, where operators libnn reads differ from later ones:
 * BatchNormalization normalises every value apart with spatial 0 (opsets 6
 * to 8); in opset 6, BatchNormalization and Dropout compute their inference
 * form only with is_test set, Gemm adds a bias vector and Add one along the
 * last axis only with broadcast set. 0 with why set otherwise. */
static int older_opset_fits(const onnx_model *m, const nn_onnx_node_in *node,
                            char *why, size_t why_size)
{
    const nn_onnx_attr *is_test = nn_onnx_attr_find(node, "is_test");
    const nn_onnx_attr *broadcast = nn_onnx_attr_find(node, "broadcast");
    const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
    const nn_onnx_attr *spatial = nn_onnx_attr_find(node, "spatial");
    if (m->opset < 9 && !strcmp(node->op, "BatchNormalization") && spatial &&
        spatial->i != 1) {
        nn_format_msg(why, why_size, "node %d 'BatchNormalization' with "
                      "spatial %lld: libnn normalises per channel",
                      node->index, (long long)spatial->i);
        return 0;
    }
    if (m->opset >= 7)
        return 1;
    if ((!strcmp(node->op, "BatchNormalization") || !strcmp(node->op, "Dropout")) &&
        !(is_test && is_test->i)) {
        nn_format_msg(why, why_size, "node %d '%s' without is_test: opset 6 "
                      "computes it as in training", node->index, node->op);
        return 0;
    }
    if (((!strcmp(node->op, "Gemm") && node->n_inputs > 2) || !strcmp(node->op, "Add")) &&
        (!(broadcast && broadcast->i) || (axis && axis->i != 1 && axis->i != -1))) {
        nn_format_msg(why, why_size, "node %d '%s': opset 6 adds a bias along "
                      "the outputs only with broadcast 1 (and no other axis)",
                      node->index, node->op);
        return 0;
    }
    return 1;
}

/* The net the layers describe, built, with their weights. */
static nn_status build(const onnx_model *m, const int shape[3],
                       imported *layers, int n, int max_batch, int inference,
                       nn_net **out, char *why, size_t why_size)
{
    nn_net *net = NULL;
    size_t p = 0, s = 0, params = 0, state = 0;
    nn_status st = nn_net_create(shape[0], shape[1], shape[2], &net);
    for (int i = 0; st == NN_OK && i < n; i++) {
        st = nn_net_add_kind(net, layers[i].kind, &layers[i].in.args);
        p += layers[i].in.n_params;
        s += layers[i].in.n_state;
    }
    /* Checked before building: a short file that declares a large input
     * must not make the net allocate more weights than the file holds. */
    if (st == NN_OK && (st = nn_net_plan(net, max_batch, &params, &state)) == NN_OK &&
        (params != p || state != s)) {
        nn_format_msg(why, why_size, "the file holds %zu weights and %zu state "
                      "values, the layers %zu and %zu for the input %dx%dx%d",
                      p, s, params, state, shape[0], shape[1], shape[2]);
        st = NN_EFORMAT;
    }
    p = s = 0;
    if (st == NN_OK)
        st = inference ? nn_net_build_inference(net, max_batch, 0)
                       : nn_net_build(net, max_batch, 0);
    if (st == NN_OK && m->has_normalization &&
        nn_net_set_normalization(net, m->mean, m->std) != NN_OK)
        st = NN_EFORMAT;
    for (int i = 0; st == NN_OK && i < n; i++) {
        nn_layer_info info;
        nn_net_layer_info(net, i, &info);
        if (info.params != layers[i].in.n_params || info.state != layers[i].in.n_state) {
            nn_format_msg(why, why_size, "layer %d (%s) holds %zu weights in the "
                          "file, %zu for its input shape", i, info.kind,
                          layers[i].in.n_params, info.params);
            st = NN_EFORMAT;
            break;
        }
        if (info.params)
            memcpy(nn_net_params(net) + p, layers[i].in.params, info.params * sizeof(float));
        if (info.state)
            memcpy(nn_net_state(net) + s, layers[i].in.state, info.state * sizeof(float));
        p += info.params;
        s += info.state;
    }
    if (st == NN_OK && nn_model_invalid_value(net, why, why_size))
        st = NN_EFORMAT;
    if (st != NN_OK) {
        if (!why[0])
            nn_format_msg(why, why_size, "the layers do not fit the input "
                          "%dx%dx%d: %s", shape[0], shape[1], shape[2],
                          nn_status_str(st));
        nn_net_destroy(net);
        return st == NN_ENOMEM ? st : NN_EFORMAT;
    }
    *out = net;
    return NN_OK;
}

/* Most outputs a node may have (the chain reads the first; BatchNorm and
 * Dropout may name more). */
#define MAX_NODE_OUTPUTS 8

/* The names written so far: the graph input, then every node's outputs. */
typedef struct {
    char (*names)[MAX_NAME];
    int count;
} written_names;

/* Whether name is one of w's names; which kind of writer in *what. */
static int was_written(const written_names *w, const char *name,
                       const char **what)
{
    for (int k = 0; k < w->count; k++)
        if (!strcmp(w->names[k], name)) {
            *what = k == 0 ? "is the graph's input" : "a node wrote already";
            return 1;
        }
    return 0;
}

/* Static single assignment, as ONNX requires, over every output of the
 * node read from msg: none was written before (by a node, an initializer or
 * as the graph input) and the node reads none of them; they join w. */
static int check_ssa(const onnx_model *m, const nn_onnx_node_in *node,
                     const nn_pb_field *msg, written_names *w, char *why,
                     size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(msg);
    nn_pb_field f;
    char name[MAX_NAME];
    const char *what = "";
    int outputs = 0;
    while (nn_pb_next(&r, &f) == 1) {
        if (f.field != 2 || f.wire != NN_PB_BYTES ||
            !copy_name(name, sizeof name, &f) || !name[0])
            continue; /* an empty name: an optional output left out */
        if (++outputs > MAX_NODE_OUTPUTS) {
            nn_format_msg(why, why_size, "node %d '%s' has more than %d "
                          "outputs", node->index, node->op, MAX_NODE_OUTPUTS);
            return 0;
        }
        for (int k = 0; k < node->n_inputs; k++)
            if (!strcmp(node->inputs[k], name)) {
                nn_format_msg(why, why_size, "node %d '%s' reads its own "
                              "output '%.40s'", node->index, node->op, name);
                return 0;
            }
        if (find_init(m, name) || was_written(w, name, &what)) {
            nn_format_msg(why, why_size, "node %d '%s' writes '%.40s', which "
                          "%s", node->index, node->op, name,
                          find_init(m, name) ? "is an initializer" : what);
            return 0;
        }
        strcpy(w->names[w->count++], name);
    }
    return 1;
}

/* After the last node: no Pad left to fold, and the graph's one output is
 * the tensor the layers compute (`current`). */
static int check_end(const onnx_model *m, const char *current,
                     int pending_pad, int last_pad, char *why,
                     size_t why_size)
{
    if (pending_pad > 0) {
        nn_format_msg(why, why_size, "node %d 'Pad' ends the graph: libnn "
                      "folds a zero Pad into the convolution or average "
                      "pooling after it", last_pad);
        return 0;
    }
    if (m->n_outputs != 1) {
        nn_format_msg(why, why_size, "the graph has %d outputs: libnn nets "
                      "have one", m->n_outputs);
        return 0;
    }
    if (strcmp(m->outputs[0], current)) {
        nn_format_msg(why, why_size, "the graph's output '%.40s' is not the "
                      "last node's output '%.40s': libnn returns the last "
                      "node's", m->outputs[0], current);
        return 0;
    }
    return 1;
}

/* A Constant node: its tensor becomes one more initializer, named after
 * the node's output; 0 with why set when it holds none. */
static int constant_node(onnx_model *m, const nn_onnx_node_in *node,
                         const char *output, char *why, size_t why_size)
{
    const nn_onnx_attr *value = nn_onnx_attr_find(node, "value");
    if (!value || !value->t.data ||
        !parse_tensor(&value->t, &m->inits[m->n_inits], output, why,
                      why_size)) {
        if (!why[0])
            nn_format_msg(why, why_size, "node %d 'Constant' holds no tensor",
                          node->index);
        return 0;
    }
    m->n_inits++;
    return 1;
}

/* Walks the chain of nodes from the graph input into layers. */
static nn_status import(onnx_model *m, int max_batch, int inference,
                        nn_net **out, char *why, size_t why_size)
{
    char current[MAX_NAME], output[MAX_NAME], names[8][MAX_NAME];
    int shape[3], rank, n = 0, pending_pad = 0, last_pad = -1;
    imported *layers = calloc((size_t)m->n_nodes + 1, sizeof *layers);
    nn_onnx_node_in *node = malloc(sizeof *node);
    written_names written = {
        malloc(((size_t)m->n_nodes * MAX_NODE_OUTPUTS + 1) * MAX_NAME), 0};
    nn_status st = NN_EFORMAT;
    if (!layers || !node || !written.names) {
        nn_format_msg(why, why_size, "out of memory");
        st = NN_ENOMEM;
        goto done;
    }
    if (!graph_input(m, current, shape, why, why_size))
        goto done;
    strcpy(written.names[written.count++], current);
    rank = shape[1] == 1 && shape[2] == 1 ? 2 : 4;
    for (int i = 0; i < m->n_nodes; i++) {
        const nn_layer_kind *kind;
        const nn_onnx_kind *onnx_kind;
        int handled;
        if (!parse_node(m, &m->nodes[i], i, node, names, output, why, why_size) ||
            !check_ssa(m, node, &m->nodes[i], &written, why, why_size))
            goto done;
        if (!strcmp(node->op, "Constant")) {
            if (!constant_node(m, node, output, why, why_size))
                goto done;
            continue;
        }
        if (node->n_inputs == 0 || strcmp(node->inputs[0], current)) {
            nn_format_msg(why, why_size, "node %d '%s' reads '%.40s', not the "
                          "output of the node before: libnn nets are sequential",
                          i, node->op, node->n_inputs ? node->inputs[0] : "");
            goto done;
        }
        for (int k = 1; k < node->n_inputs; k++)
            if (node->inputs[k][0] && !find_init(m, node->inputs[k])) {
                nn_format_msg(why, why_size, "node %d '%s' (residual "
                              "connection): libnn nets are sequential (it "
                              "also reads '%.40s')", i, node->op, node->inputs[k]);
                goto done;
            }
        if (!older_opset_fits(m, node, why, why_size))
            goto done;
        strcpy(current, output);
        handled = structural(m, node, i == m->n_nodes - 1, layers, n, &rank,
                             &pending_pad, why, why_size);
        if (handled < 0)
            goto done;
        if (!strcmp(node->op, "Pad"))
            last_pad = i;
        if (handled)
            continue;
        if (!(onnx_kind = nn_onnx_kind_for_op(node->op))) {
            nn_format_msg(why, why_size, "node %d '%s': libnn has no layer for "
                          "this operator", i, node->op);
            goto done;
        }
        kind = onnx_kind->kind;
        layers[n].kind = kind;
        layers[n].in.args = kind->spec.defaults;
        layers[n].in.bias_at = SIZE_MAX;
        if (!onnx_kind->import_node(node, &layers[n].in)) {
            nn_format_msg(why, why_size, "node %d '%s': %s", i, node->op,
                          layers[n].in.why[0] ? layers[n].in.why : "out of memory");
            n++;
            goto done;
        }
        if (layers[n].in.rank_out)
            rank = layers[n].in.rank_out;
        if (pending_pad > 0 && !layers[n].in.zero_pad) {
            nn_format_msg(why, why_size, "node %d '%s' after a zero Pad: libnn "
                          "folds padding only into a convolution or an average "
                          "pooling that counts it", i, node->op);
            n++;
            goto done;
        }
        layers[n].in.args.pad += pending_pad;
        pending_pad = 0;
        n++;
    }
    if (n == 0) {
        nn_format_msg(why, why_size, "the graph holds no layer");
        goto done;
    }
    if (!check_end(m, current, pending_pad, last_pad, why, why_size))
        goto done;
    st = build(m, shape, layers, n, max_batch, inference, out, why, why_size);
done:
    for (int i = 0; layers && i < n; i++) {
        free(layers[i].in.params);
        free(layers[i].in.state);
    }
    free(layers);
    free(node);
    free(written.names);
    return st;
}

nn_status nn_onnx_load(const char *path, int max_batch, int inference,
                       nn_net **out, char *msg, size_t msg_size)
{
    nn_le_buffer b = {NULL, 0, 0, 0};
    onnx_model *m;
    char why[256] = "";
    nn_status st = nn_model_read_whole(path, max_batch, out, &b, msg, msg_size);
    if (st != NN_OK)
        return st;
    m = calloc(1, sizeof *m);
    if (!m)
        st = NN_ENOMEM;
    else if (!parse_model(b.data, b.size, m, why, sizeof why))
        st = NN_EFORMAT;
    else
        st = import(m, max_batch, inference != 0, out, why, sizeof why);
    if (st != NN_OK)
        nn_format_msg(msg, msg_size, "%s: %s", path, why[0] ? why : nn_status_str(st));
    for (int i = 0; m && i < m->n_inits; i++)
        free(m->inits[i].owned);
    if (m)
        free(m->inits);
    free(m);
    free(b.data);
    return st;
}
