/* ONNX export against ONNX's operator schemas: every attribute libnn writes
 * has the type its operator defines (kernel_shape INTS, epsilon FLOAT,
 * transB INT, ...) and carries its value in the field of that type. libnn's
 * own reader does not look at an attribute's type, so a round trip could
 * not catch a wrong one; ONNX Runtime refuses such a file. And the graph of
 * a net with joins: which node reads which tensor, by name, the same in
 * every export; and the layer options written as their values: pads,
 * ceil_mode, count_include_pad and epsilon. */
#include "gradcheck.h"
#include "io/onnx.h"
#include "io/protobuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/nn_onnx_export.XXXXXX";

/* AttributeProto.type values, and the field each keeps its value in. */
enum { TYPE_FLOAT = 1, TYPE_INT = 2, TYPE_INTS = 7 };
enum { FIELD_F = 2, FIELD_I = 3, FIELD_INTS = 8 };

/* What ONNX's schemas say of the attributes libnn writes. */
static const struct {
    const char *op, *name;
    int type;
} schema[] = {
    {"Conv", "kernel_shape", TYPE_INTS},
    {"Conv", "strides", TYPE_INTS},
    {"Conv", "pads", TYPE_INTS},
    {"MaxPool", "kernel_shape", TYPE_INTS},
    {"MaxPool", "strides", TYPE_INTS},
    {"MaxPool", "pads", TYPE_INTS},
    {"MaxPool", "ceil_mode", TYPE_INT},
    {"AveragePool", "kernel_shape", TYPE_INTS},
    {"AveragePool", "strides", TYPE_INTS},
    {"AveragePool", "pads", TYPE_INTS},
    {"AveragePool", "count_include_pad", TYPE_INT},
    {"AveragePool", "ceil_mode", TYPE_INT},
    {"BatchNormalization", "epsilon", TYPE_FLOAT},
    {"LeakyRelu", "alpha", TYPE_FLOAT},
    {"Gemm", "transB", TYPE_INT},
    {"Flatten", "axis", TYPE_INT},
    {"Concat", "axis", TYPE_INT},
};

/* The bytes of field f as a NUL-terminated string in buf. */
static void field_text(const nn_pb_field *f, char *buf, size_t size)
{
    size_t n = f->size < size - 1 ? f->size : size - 1;
    memcpy(buf, f->data, n);
    buf[n] = '\0';
}

/* The text of field `field` of the message m into buf ("" when absent). */
static void text_of(const nn_pb_field *m, int field, char *buf, size_t size)
{
    nn_pb_reader r = nn_pb_sub(m);
    nn_pb_field f;
    buf[0] = '\0';
    while (nn_pb_next(&r, &f) == 1)
        if (f.field == field)
            field_text(&f, buf, size);
}

/* Checks one AttributeProto of a node of operator op; returns 1. */
static int check_attribute(const char *op, const nn_pb_field *attr)
{
    nn_pb_reader r = nn_pb_sub(attr);
    nn_pb_field f;
    char name[64] = "";
    int type = 0, has_f = 0, has_i = 0, has_ints = 0, want = -1;
    while (nn_pb_next(&r, &f) == 1) {
        if (f.field == ATTR_NAME)
            field_text(&f, name, sizeof name);
        else if (f.field == ATTR_TYPE && f.wire == NN_PB_VARINT)
            type = (int)f.value;
        else if (f.field == FIELD_F && f.wire == NN_PB_FIXED32)
            has_f = 1;
        else if (f.field == FIELD_I && f.wire == NN_PB_VARINT)
            has_i = 1;
        else if (f.field == FIELD_INTS)
            has_ints = 1;
    }
    for (size_t i = 0; i < sizeof schema / sizeof *schema; i++)
        if (!strcmp(schema[i].op, op) && !strcmp(schema[i].name, name))
            want = schema[i].type;
    if (want < 0)
        fail_msg("%s writes attribute '%s', which the test does not know", op,
                 name);
    if (type != want)
        fail_msg("%s.%s has type %d; ONNX defines %d", op, name, type, want);
    if ((want == TYPE_FLOAT && !has_f) || (want == TYPE_INT && !has_i) ||
        (want == TYPE_INTS && !has_ints) || has_f + has_i + has_ints != 1)
        fail_msg("%s.%s keeps its value in the wrong field", op, name);
    return 1;
}

/* Called for each node of a file: its operator and NodeProto. */
typedef void (*node_fn)(const char *op, const nn_pb_field *node, void *ctx);

/* Walks the nodes of the ModelProto in path, in order. */
static void for_each_node(const char *path, node_fn fn, void *ctx)
{
    size_t size;
    unsigned char *data = tu_read_file(path, &size);
    nn_pb_reader model = {data, data + size};
    nn_pb_field f, g;
    while (nn_pb_next(&model, &f) == 1) {
        nn_pb_reader graph = nn_pb_sub(&f);
        if (f.field != MODEL_GRAPH)
            continue;
        while (nn_pb_next(&graph, &g) == 1) {
            char op[64];
            if (g.field != GRAPH_NODE)
                continue;
            text_of(&g, NODE_OP, op, sizeof op);
            fn(op, &g, ctx);
        }
    }
    free(data);
}

/* node_fn: checks every attribute, counting them in *(int *)ctx. */
static void check_node(const char *op, const nn_pb_field *node, void *ctx)
{
    nn_pb_reader r = nn_pb_sub(node);
    nn_pb_field a;
    while (nn_pb_next(&r, &a) == 1)
        if (a.field == NODE_ATTR)
            *(int *)ctx += check_attribute(op, &a);
}

/* The exported file's attribute count, each checked. */
static int check_file(const char *path)
{
    int attributes = 0;
    for_each_node(path, check_node, &attributes);
    return attributes;
}

static void test_every_attribute_has_its_schema_type(void **state)
{
    static const struct {
        const char *spec;
        int c, h, w;
    } nets[] = {
        {"conv3x3x4p1,bn,leakyrelu0.2,avgpool3s2p1,conv3x3x4s2,sigmoid,"
         "pool2s1,dropout0.25,dense6,bn,tanh,relu,dense5", 2, 12, 11},
        {"dense8,conv1x1x4,relu,gap,dense3", 2, 3, 3},
        {"conv3x3x2p1,relu,concat(input),gap,dense3", 2, 4, 4},
        {"conv3x3x4p1,bneps0.001,pool3s2p1c,avgpool3s1p1ce,pool2x3s1,dense2",
         2, 9, 9},
    };
    const char *path = tu_path(dir, "net.onnx");
    char msg[256];
    int attributes = 0;
    (void)state;
    for (size_t i = 0; i < sizeof nets / sizeof *nets; i++) {
        nn_net *net = tu_net(nets[i].spec, nets[i].c, nets[i].h, nets[i].w,
                             2, 3);
        assert_nn_ok(nn_onnx_save(net, path, 0, msg, sizeof msg));
        attributes += check_file(path);
        nn_net_destroy(net);
    }
    print_message("  %d attributes, each of its schema's type\n", attributes);
    assert_true(attributes >= 15);
}

/* Appends "name: op(in, ...) -> out\n" for the NodeProto f to text. */
static void describe_node(const nn_pb_field *node, char *text, size_t size)
{
    nn_pb_reader r = nn_pb_sub(node);
    nn_pb_field f;
    char op[64] = "", name[64] = "", out[64] = "", in[256] = "", s[64];
    while (nn_pb_next(&r, &f) == 1) {
        field_text(&f, s, sizeof s);
        if (f.field == NODE_OP)
            snprintf(op, sizeof op, "%s", s);
        else if (f.field == NODE_NAME)
            snprintf(name, sizeof name, "%s", s);
        else if (f.field == NODE_OUTPUT)
            snprintf(out, sizeof out, "%s", s);
        else if (f.field == NODE_INPUT)
            snprintf(in + strlen(in), sizeof in - strlen(in), "%s%s",
                     in[0] ? ", " : "", s);
    }
    snprintf(text + strlen(text), size - strlen(text), "%s: %s(%s) -> %s\n",
             name, op, in, out);
}

/* The nodes of the ONNX file at path, one line each. */
static void describe_graph(const char *path, char *text, size_t size)
{
    size_t bytes;
    unsigned char *data = tu_read_file(path, &bytes);
    nn_pb_reader model = {data, data + bytes};
    nn_pb_field f, g;
    text[0] = '\0';
    while (nn_pb_next(&model, &f) == 1) {
        nn_pb_reader graph = nn_pb_sub(&f);
        while (f.field == MODEL_GRAPH && nn_pb_next(&graph, &g) == 1)
            if (g.field == GRAPH_NODE)
                describe_node(&g, text, size);
    }
    free(data);
}

/* A net with an add of the input, a concat, an add of a dense output (N, F)
 * and a pooled one (N, C, 1, 1) (a Reshape first) and an add of three
 * (Sum): every node reads the tensors its layer reads, named "input",
 * "L<j>_out" and "output"; a named layer's node carries its name; two
 * exports are the same bytes. */
static void test_graph_nodes_read_their_layers_tensors(void **state)
{
    static const char *const want =
        "L0_Conv@a: Conv(input, L0_weight, L0_bias) -> L0_out\n"
        "L1_Relu: Relu(L0_out) -> L1_out\n"
        "L2_Add: Add(L1_out, input) -> L2_out\n"
        "L3_Concat: Concat(L2_out, L0_out) -> L3_out\n"
        "L4_GlobalAveragePool@g: GlobalAveragePool(L3_out) -> L4_out\n"
        "L5_Flatten: Flatten(L4_out) -> L5_flat\n"
        "L5_Gemm: Gemm(L5_flat, L5_weight, L5_bias) -> L5_out\n"
        "L6_Reshape: Reshape(L5_out, L6_shape0) -> L6_nchw0\n"
        "L6_Add: Add(L6_nchw0, L4_out) -> L6_out\n"
        "L7_Relu: Relu(L6_out) -> L7_out\n"
        "L8_Flatten: Flatten(L7_out) -> L8_flat\n"
        "L8_Gemm: Gemm(L8_flat, L8_weight, L8_bias) -> L8_out\n"
        "L9_Relu@r: Relu(L8_out) -> L9_out\n"
        "L10_Sum: Sum(L9_out, L9_out, L9_out) -> output\n";
    nn_net *net = tu_net("conv3x3x2p1@a,relu,add(input),concat(a),gap@g,"
                         "dense4,add(g),relu,dense3,relu@r,add(r,r,r)",
                         2, 4, 4, 2, 3);
    const char *path = tu_path(dir, "graph.onnx"), *again = tu_path(dir, "again.onnx");
    char msg[256], text[2048];
    size_t size_a, size_b;
    unsigned char *a, *b;
    (void)state;
    assert_nn_ok(nn_onnx_save(net, path, 0, msg, sizeof msg));
    assert_nn_ok(nn_onnx_save(net, again, 0, msg, sizeof msg));
    describe_graph(path, text, sizeof text);
    assert_string_equal(text, want);
    a = tu_read_file(path, &size_a);
    b = tu_read_file(again, &size_b);
    assert_int_equal(size_a, size_b);
    assert_memory_equal(a, b, size_a);
    print_message("  %d nodes, each reading its layer's tensors; two exports "
                  "identical\n", 14);
    free(a);
    free(b);
    nn_net_destroy(net);
}

/* What attribute_text looks for, and what it found. */
typedef struct {
    const char *op, *name;
    int nth;           /* nodes of op still to pass */
    char text[128];
} attribute_query;

/* node_fn: the attribute of the query's node as text, when it is that. */
static void find_attribute(const char *op, const nn_pb_field *node, void *ctx)
{
    attribute_query *q = ctx;
    nn_pb_reader r = nn_pb_sub(node);
    nn_pb_field a, v;
    size_t used = 0;
    if (strcmp(op, q->op) != 0 || q->nth-- != 0)
        return;
    while (nn_pb_next(&r, &a) == 1) {
        nn_pb_reader values = nn_pb_sub(&a);
        char name[64];
        if (a.field != NODE_ATTR)
            continue;
        text_of(&a, ATTR_NAME, name, sizeof name);
        if (strcmp(name, q->name) != 0)
            continue;
        while (nn_pb_next(&values, &v) == 1 && used < sizeof q->text) {
            uint32_t bits = (uint32_t)v.value;
            float x;
            memcpy(&x, &bits, sizeof x);
            if (v.field == FIELD_F)
                used += (size_t)snprintf(q->text + used, sizeof q->text - used,
                                         "%g", (double)x);
            else if (v.field == FIELD_I || v.field == FIELD_INTS)
                used += (size_t)snprintf(q->text + used, sizeof q->text - used,
                                         "%s%lld", used ? " " : "",
                                         (long long)v.value);
        }
    }
}

/* The attribute name of the nth node op (from 0) as text ("3 2" for
 * INTS, "0.001" for a FLOAT; "" when it has none) is `want`. */
static void expect_attribute(const char *path, const char *op, int nth,
                             const char *name, const char *want)
{
    attribute_query q = {op, name, nth, ""};
    for_each_node(path, find_attribute, &q);
    if (strcmp(q.text, want) != 0)
        fail_msg("%s %d: %s is '%s', expected '%s'", op, nth, name, q.text,
                 want);
}

/* Each option written as its value, and the defaults as before (no pads or
 * ceil_mode on an unpadded MaxPool, epsilon 1e-5 for bn). */
static void test_layer_options_are_written_exactly(void **state)
{
    nn_net *net = tu_net("conv3x3x4p1,bneps0.001,pool3s2p1c,avgpool3s1p1ce,"
                         "avgpool3s1p1,pool2,bn,pool2x3s1,dense2", 2, 18, 18,
                         2, 3);
    const char *path = tu_path(dir, "options.onnx");
    char msg[256];
    (void)state;
    assert_nn_ok(nn_onnx_save(net, path, 0, msg, sizeof msg));
    expect_attribute(path, "BatchNormalization", 0, "epsilon", "0.001");
    expect_attribute(path, "BatchNormalization", 1, "epsilon", "1e-05");
    expect_attribute(path, "MaxPool", 0, "kernel_shape", "3 3");
    expect_attribute(path, "MaxPool", 0, "strides", "2 2");
    expect_attribute(path, "MaxPool", 0, "pads", "1 1 1 1");
    expect_attribute(path, "MaxPool", 0, "ceil_mode", "1");
    expect_attribute(path, "AveragePool", 0, "pads", "1 1 1 1");
    expect_attribute(path, "AveragePool", 0, "ceil_mode", "1");
    expect_attribute(path, "AveragePool", 0, "count_include_pad", "0");
    expect_attribute(path, "AveragePool", 1, "ceil_mode", "");
    expect_attribute(path, "AveragePool", 1, "count_include_pad", "1");
    expect_attribute(path, "MaxPool", 1, "pads", "");
    expect_attribute(path, "MaxPool", 1, "ceil_mode", "");
    expect_attribute(path, "MaxPool", 2, "kernel_shape", "2 3");
    expect_attribute(path, "MaxPool", 2, "strides", "1 1");
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_attribute_has_its_schema_type),
        cmocka_unit_test(test_graph_nodes_read_their_layers_tensors),
        cmocka_unit_test(test_layer_options_are_written_exactly),
    };
    return TU_RUN_IN_DIR(tests, dir);
}
