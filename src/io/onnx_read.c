/* ONNX import, the file's side: the protobuf reader of protobuf.c over a
 * whole file into an nn_onnx_model (src/io/onnx_model.h), every length and
 * count checked against the bytes before anything of that size is
 * allocated. Its graph becomes a net in src/io/onnx_import.c. */
#include "io/onnx_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define ONNX_MAX_BYTES ((size_t)1 << 31)
#define MAX_NODES NN_ONNX_MAX_NODES
#define MAX_INITIALIZERS NN_ONNX_MAX_INITIALIZERS
#define MAX_NAME NN_ONNX_MAX_NAME
#define MAX_OUTPUTS NN_ONNX_MAX_OUTPUTS
/* The opsets of the default domain whose operators libnn reads as ONNX
 * defines them: Dropout's ratio as an input or an attribute; what differs
 * before opset 9 (BatchNormalization's spatial, opset 6's is_test and
 * broadcast) checked by older_opset_fits; Pad only from opset 11, where its
 * pads are an input (before, an attribute libnn does not read). */
#define OPSET_MIN 6
#define OPSET_MAX 21

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
static int read_int64s(nn_pb_reader *r, nn_onnx_init *in,
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
int nn_onnx_read_tensor(const nn_pb_field *msg, nn_onnx_init *in,
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
static int graph_output(nn_onnx_model *m, const nn_pb_field *value, char *why,
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
static int parse_graph(const nn_pb_field *graph, nn_onnx_model *m, char *why,
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
    /* every Constant node becomes one more nn_onnx_init */
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
            if (!nn_onnx_read_tensor(&f, &m->inits[m->n_inits], NULL, why, why_size))
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
static void parse_metadata(const nn_pb_field *entry, nn_onnx_model *m)
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
static void parse_opset(const nn_pb_field *entry, nn_onnx_model *m)
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

int nn_onnx_model_parse(const unsigned char *data, size_t size, nn_onnx_model *m,
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

const nn_onnx_init *nn_onnx_find_init(const nn_onnx_model *m, const char *name)
{
    for (int i = 0; i < m->n_inits; i++)
        if (!strcmp(m->inits[i].name, name))
            return &m->inits[i];
    return NULL;
}

int nn_onnx_graph_input(const nn_onnx_model *m, char *name, int shape[3],
                        int *rank_out, char *why, size_t why_size)
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
        if (!input[0] || nn_onnx_find_init(m, input))
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
        *rank_out = rank;
        strcpy(name, input);
        return 1;
    }
    nn_format_msg(why, why_size, "the graph has no input");
    return 0;
}

/* The layer name libnn's writer puts in a node's name, "L<i>_<op>@<name>",
 * into label (NN_NAME_SIZE bytes); "" for any other node name. */
static void node_label(const nn_pb_field *f, char *label)
{
    const char *p = (const char *)f->data, *end = p + f->size, *at = end;
    size_t digits = 0;
    label[0] = '\0';
    while (at > p && at[-1] != '@')
        at--;
    if (f->size < 4 || p[0] != 'L' || at == p || (size_t)(end - at) >= NN_NAME_SIZE ||
        memchr(p, 0, f->size))
        return;
    while (1 + digits < f->size && p[1 + digits] >= '0' && p[1 + digits] <= '9')
        digits++;
    if (digits == 0 || 1 + digits >= f->size || p[1 + digits] != '_')
        return;
    memcpy(label, at, (size_t)(end - at));
    label[end - at] = '\0';
}

/* One AttributeProto into at. */
static void parse_attribute(const nn_pb_field *f, nn_onnx_attr *at)
{
    nn_pb_reader ar = nn_pb_sub(f);
    nn_pb_field a;
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

int nn_onnx_read_node(const nn_onnx_model *m, int index,
                      nn_onnx_node_read *read, char *why, size_t why_size)
{
    nn_pb_reader r = nn_pb_sub(&m->nodes[index]);
    nn_pb_field f;
    nn_onnx_node_in *node = &read->in;
    int status, inputs = 0, outputs = 0;
    memset(node, 0, sizeof *node);
    node->index = index;
    read->n_outputs = 0;
    read->outputs[0][0] = '\0';
    while ((status = nn_pb_next(&r, &f)) == 1) {
        if (f.field == 1 && f.wire == NN_PB_BYTES) {
            if (inputs++ < NN_ONNX_NODE_NAMES) {
                if (!copy_name(read->names[node->n_inputs], MAX_NAME, &f))
                    break;
                node->inputs[node->n_inputs] = read->names[node->n_inputs];
                node->n_inputs++;
            }
        } else if (f.field == 2 && f.wire == NN_PB_BYTES) {
            /* the first output, then every named one (an empty name is an
             * optional output left out); past 8 only counted */
            char name[MAX_NAME];
            if (outputs++ == 0) {
                if (!copy_name(read->outputs[0], MAX_NAME, &f))
                    break;
                read->n_outputs = 1;
            } else if (copy_name(name, sizeof name, &f) && name[0]) {
                if (read->n_outputs < NN_ONNX_NODE_NAMES)
                    strcpy(read->outputs[read->n_outputs], name);
                read->n_outputs++;
            }
        } else if (f.field == 3 && f.wire == NN_PB_BYTES)
            node_label(&f, node->label);
        else if (f.field == 4 && f.wire == NN_PB_BYTES) {
            if (!copy_name(node->op, sizeof node->op, &f))
                break;
        } else if (f.field == 5 && f.wire == NN_PB_BYTES) {
            if (node->n_attrs == 16)
                break;
            parse_attribute(&f, &node->attrs[node->n_attrs++]);
        }
    }
    if (status != 0 || !node->op[0] || !read->outputs[0][0]) {
        nn_format_msg(why, why_size, "node %d is malformed, or has too many "
                      "attributes or too long a name", index);
        return 0;
    }
    if (inputs > NN_ONNX_NODE_NAMES) {
        nn_format_msg(why, why_size, "node %d '%s' has %d inputs: libnn reads "
                      "at most %d", index, node->op, inputs, NN_ONNX_NODE_NAMES);
        return 0;
    }
    for (int i = 0; i < node->n_inputs; i++) {
        const nn_onnx_init *in = nn_onnx_find_init(m, node->inputs[i]);
        node->init[i] = in && in->is_float ? &in->t : NULL;
        node->int64s[i] = in && in->n_ints >= 0 ? in->ints : NULL;
        node->n_int64s[i] = in && in->n_ints >= 0 ? in->n_ints : 0;
    }
    return 1;
}

int nn_onnx_add_constant(nn_onnx_model *m, const nn_onnx_node_read *node,
                         char *why, size_t why_size)
{
    const nn_onnx_attr *value = nn_onnx_attr_find(&node->in, "value");
    if (!value || !value->t.data ||
        !nn_onnx_read_tensor(&value->t, &m->inits[m->n_inits], node->outputs[0], why,
                      why_size)) {
        if (!why[0])
            nn_format_msg(why, why_size, "node %d 'Constant' holds no tensor",
                          node->in.index);
        return 0;
    }
    m->n_inits++;
    return 1;
}

int nn_onnx_readers(const nn_onnx_model *m, const char *name)
{
    size_t len = strlen(name);
    int readers = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_pb_reader r = nn_pb_sub(&m->nodes[i]);
        nn_pb_field f;
        while (nn_pb_next(&r, &f) == 1)
            readers += f.field == 1 && f.wire == NN_PB_BYTES && f.size == len &&
                       !memcmp(f.data, name, len);
    }
    for (int i = 0; i < m->n_outputs && i < MAX_OUTPUTS; i++)
        readers += !strcmp(m->outputs[i], name);
    return readers;
}

void nn_onnx_model_free(nn_onnx_model *m)
{
    for (int i = 0; m && i < m->n_inits; i++)
        free(m->inits[i].owned);
    if (m)
        free(m->inits);
}
