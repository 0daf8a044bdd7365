/* ONNX without Python or Node: every layer kind and graph nets (adds,
 * concats, outputs read by several layers, resnet-small) export and import
 * back to the same architecture, weights and statistics, bit for bit, and
 * the same outputs; a PyTorch export (tests/fixtures/torch_mixed.onnx)
 * gives PyTorch's outputs; residual graphs written here (an identity
 * shortcut, a zero-padded one, a mean over height and width) import to the
 * function ONNX defines; graphs libnn cannot represent are refused with the
 * node, its operator and why; truncated or corrupt files are refused. The
 * checks against ONNX Runtime, onnx's checker and PyTorch themselves are
 * in tests/crosscheck.sh. */
#include "gradcheck.h"
#include "io/onnx.h"
#include "io/protobuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/nn_onnx.XXXXXX";

/* tests/fixtures/<name> below $NN_SOURCE_DIR (a static buffer). */
static const char *fixture(const char *name)
{
    static char path[4096];
    const char *root = getenv("NN_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", root ? root : ".", name);
    return path;
}

/* spec on (c, h, w), built for 3, with random weights, running statistics
 * moved by two training passes, and a random input in inference mode. */
static nn_net *trained_net(const char *spec, int c, int h, int w)
{
    nn_net *net = tu_net(spec, c, h, w, 3, 5);
    nn_rng rng;
    nn_rng_seed(&rng, 6);
    for (int pass = 0; pass < 2; pass++) {
        gc_fill_normal(nn_net_input(net)->x, (size_t)3 * c * h * w, 1.0f, &rng);
        assert_nn_ok(nn_net_forward(net, 3));
    }
    nn_net_set_training(net, 0);
    return net;
}

static void check_round_trip(const char *spec, int c, int h, int w)
{
    nn_net *net = trained_net(spec, c, h, w), *back = NULL;
    const char *path = tu_path(dir, "round.onnx");
    char msg[256], a[4096], b[4096];
    size_t outputs;
    assert_nn_ok(nn_onnx_save(net, path, 0, msg, sizeof msg));
    if (nn_onnx_load(path, 3, 1, &back, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_nn_ok(nn_net_spec(net, a, sizeof a));
    assert_nn_ok(nn_net_spec(back, b, sizeof b));
    assert_string_equal(a, b);
    assert_int_equal(nn_net_param_count(net), nn_net_param_count(back));
    assert_memory_equal(nn_net_params(net), nn_net_params(back),
                        nn_net_param_count(net) * sizeof(float));
    assert_memory_equal(nn_net_state(net), nn_net_state(back),
                        nn_net_state_count(net) * sizeof(float));
    memcpy(nn_net_input(back)->x, nn_net_input(net)->x,
           (size_t)3 * c * h * w * sizeof(float));
    assert_nn_ok(nn_net_forward(net, 3));
    assert_nn_ok(nn_net_forward(back, 3));
    outputs = nn_tensor_count(nn_net_output(net));
    /* back is built for inference: batchnorm folded, so close, not equal */
    tu_assert_outputs_close(nn_net_output(back)->x, nn_net_output(net)->x,
                            outputs, TU_INFER_TOL, spec);
    print_message("  %s: same spec, weights, statistics and outputs\n", spec);
    nn_net_destroy(net);
    nn_net_destroy(back);
}

static void test_every_kind_round_trips(void **state)
{
    (void)state;
    check_round_trip("conv3x3x4p1,bn,leakyrelu0.2,avgpool3s2p1,conv3x3x4s2,"
                     "sigmoid,pool2s1,dropout0.25,dense6,bn,tanh,relu,dense5",
                     2, 12, 11);
    check_round_trip("conv5x5x3p2,relu,pool2,gap,dense4", 1, 8, 8);
    /* every layer option: padded and ceil-mode pooling, the padding left
     * out of the mean, a rectangle, batchnorm epsilons */
    check_round_trip("conv3x3x4p1,bneps0.001,relu,pool3s2c,avgpool3s1p1e,"
                     "conv3x3x3p1,bneps0.0001,pool3s2p1,avgpool2c,pool2x1s1,"
                     "dense4", 2, 12, 11);
    /* a convolution after a dense layer: a Reshape to (N, C, 1, 1) */
    check_round_trip("dense8,conv1x1x4,relu,gap,dense3", 2, 3, 3);
    check_round_trip("dense3", 5, 1, 1);
}

static void test_softmax_export_imports_the_logits(void **state)
{
    nn_net *net = trained_net("conv3x3x2,relu,dense4", 1, 5, 5), *back = NULL;
    const char *path = tu_path(dir, "softmax.onnx");
    char msg[256];
    (void)state;
    assert_nn_ok(nn_onnx_save(net, path, NN_ONNX_SOFTMAX, msg, sizeof msg));
    assert_nn_ok(nn_onnx_load(path, 3, 1, &back, msg, sizeof msg));
    assert_int_equal(nn_net_layer_count(back), 3); /* the Softmax is the loss's */
    assert_int_equal(nn_onnx_save(net, path, 8, msg, sizeof msg), NN_EINVAL);
    nn_net_destroy(net);
    nn_net_destroy(back);
}

/* PyTorch's conv -> batchnorm (folded into the conv by the exporter) ->
 * leaky relu -> average pooling with padding (exported as Pad +
 * AveragePool) -> conv -> relu -> dropout -> global pooling -> linear ->
 * batchnorm -> tanh -> linear, against PyTorch's outputs. */
static void test_pytorch_export_imports(void **state)
{
    tu_fixture f;
    const tu_fixture_entry *x;
    nn_net *net = NULL;
    char msg[256];
    (void)state;
    assert_int_equal(tu_fixture_load(&f, "torch_mixed.txt"), 0);
    if (nn_onnx_load(fixture("torch_mixed.onnx"), 4, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_nn_ok(nn_net_spec(net, msg, sizeof msg));
    print_message("  imported as %s\n", msg);
    x = tu_fixture_get(&f, "input", 4 * 28 * 28);
    for (int i = 0; i < 4 * 28 * 28; i++)
        nn_net_input(net)->x[i] = (float)x->values[i];
    assert_nn_ok(nn_net_forward(net, 4));
    tu_fixture_compare(&f, "output", nn_net_output(net)->x, 40, 1e-5);
    tu_fixture_free(&f);
    nn_net_destroy(net);
}

static void check_refused(const char *file, nn_status want, const char *message)
{
    nn_net *net = NULL;
    char msg[256] = "";
    assert_int_equal(nn_onnx_load(file, 2, 1, &net, msg, sizeof msg), want);
    assert_null(net);
    print_message("  %s\n", strrchr(msg, '/') ? strrchr(msg, '/') + 1 : msg);
    if (!strstr(msg, message))
        fail_msg("message '%s' lacks '%s'", msg, message);
}

static void test_unsupported_graphs_are_refused(void **state)
{
    (void)state;
    check_refused(fixture("onnx_elu.onnx"), NN_EFORMAT,
                  "node 0 'Elu': libnn has no layer for this operator");
    check_refused(fixture("onnx_asymmetric_pad.onnx"), NN_EFORMAT,
                  "node 0 'Conv': groups, dilation, auto_pad, unequal strides "
                  "or asymmetric padding");
    check_refused(fixture("pytorch_parity.txt"), NN_EFORMAT, "not a valid ONNX");
}

/* Found by fuzz_onnx: a graph input whose TypeProto holds a varint where a
 * message belongs was read as a message from a NULL pointer (undefined
 * behaviour that UBSan reports; harmless in practice). */
static void test_regression_type_not_a_message(void **state)
{
    /* opset_import {version 13}, then graph {input {type: a varint}} */
    static const unsigned char file[] = {0x42, 0x02, 0x10, 0x0d, 0x3a, 0x06,
                                         0x5a, 0x04, 0x12, 0x02, 0x08, 0x01};
    const char *path = tu_path(dir, "regress.onnx");
    (void)state;
    tu_write_file(path, file, sizeof file);
    check_refused(path, NN_EFORMAT, "the graph has no input");
}

/* Writes size bytes as path and loads it: a loaded net must run; counts
 * which it was. */
static void try_load(const char *path, const unsigned char *data, size_t size,
                     int *loaded, int *refused)
{
    nn_net *net = NULL;
    tu_write_file(path, data, size);
    if (nn_onnx_load(path, 2, 1, &net, NULL, 0) == NN_OK) {
        assert_nn_ok(nn_net_forward(net, 2));
        (*loaded)++;
    } else
        (*refused)++;
    nn_net_destroy(net);
}

/* Every prefix and 200 single-byte corruptions of a real file: refused or
 * loaded, never a crash (the sanitizers watch in CI), and a loaded net
 * runs. */
static void test_truncated_and_corrupt_files(void **state)
{
    size_t size;
    unsigned char *data = tu_read_file(fixture("torch_mixed.onnx"), &size);
    const char *path = tu_path(dir, "cut.onnx");
    int refused = 0, loaded = 0;
    nn_rng rng;
    (void)state;
    nn_rng_seed(&rng, 9);
    for (size_t cut = 0; cut < size; cut += 1 + size / 300)
        try_load(path, data, cut, &loaded, &refused);
    for (int round = 0; round < 200; round++) {
        unsigned char *copy = malloc(size);
        assert_non_null(copy);
        memcpy(copy, data, size);
        copy[nn_rng_below(&rng, (uint32_t)size)] ^= (unsigned char)(1 + nn_rng_below(&rng, 255));
        try_load(path, copy, size, &loaded, &refused);
        free(copy);
    }
    print_message("  %d refused, %d loaded (a flipped weight byte still loads)\n",
                  refused, loaded);
    assert_true(refused > 0);
    free(data);
}

/* -------------------------------------------- float_data in every encoding */

/* How a float tensor's values are written as float_data (field 4): one
 * fixed32 field each, two packed runs, or single values, a packed run, then
 * single values again. All three are legal protobuf for the same tensor. */
enum { FLOATS_ONE_BY_ONE, FLOATS_TWO_RUNS, FLOATS_MIXED };

static void write_float_data(nn_pb_writer *w, const float *x, size_t n,
                             int how)
{
    size_t half = n / 2, head = n < 3 ? n : 3, tail = n > head ? 1 : 0;
    if (how == FLOATS_ONE_BY_ONE) {
        for (size_t i = 0; i < n; i++)
            nn_pb_float(w, 4, x[i]);
    } else if (how == FLOATS_TWO_RUNS) {
        nn_pb_floats(w, 4, x, half);
        nn_pb_floats(w, 4, x + half, n - half);
    } else {
        for (size_t i = 0; i < head; i++)
            nn_pb_float(w, 4, x[i]);
        nn_pb_floats(w, 4, x + head, n - head - tail);
        for (size_t i = n - tail; i < n; i++)
            nn_pb_float(w, 4, x[i]);
    }
}

/* Copies the fields of message [data, data + size) into w; at depth 0 (a
 * ModelProto) field 7 is the graph, at depth 1 (the graph) field 5 an
 * initializer, whose float raw_data (field 9 of a tensor of type 1) is
 * written as float_data `how`. */
static void reencode(const unsigned char *data, size_t size, int depth,
                     int how, nn_pb_writer *w)
{
    nn_pb_reader r = {data, data + size}, first = r;
    nn_pb_field f;
    int is_float = 0;
    while (depth == 2 && nn_pb_next(&first, &f) == 1)
        is_float |= f.field == 2 && f.wire == NN_PB_VARINT && f.value == 1;
    while (nn_pb_next(&r, &f) == 1) {
        if (f.wire == NN_PB_BYTES &&
            ((depth == 0 && f.field == 7) || (depth == 1 && f.field == 5))) {
            size_t mark = nn_pb_begin(w, f.field);
            reencode(f.data, f.size, depth + 1, how, w);
            nn_pb_end(w, mark);
        } else if (depth == 2 && is_float && f.field == 9) {
            size_t n = f.size / 4;
            float *x = malloc((n ? n : 1) * sizeof(float));
            assert_non_null(x);
            memcpy(x, f.data, n * sizeof(float)); /* little-endian here */
            write_float_data(w, x, n, how);
            free(x);
        } else if (f.wire == NN_PB_VARINT)
            nn_pb_varint(w, f.field, f.value);
        else if (f.wire == NN_PB_FIXED32)
            nn_pb_float(w, f.field, nn_pb_to_float(&f));
        else {
            assert_int_equal(f.wire, NN_PB_BYTES);
            nn_pb_bytes(w, f.field, f.data, f.size);
        }
    }
}

/* A net exported once, then with its weights re-encoded as float_data in
 * each legal encoding: every file imports to the same weights and outputs,
 * bit for bit. Before, a mixed encoding read past the end of the file and
 * two packed runs were refused. */
static void test_float_data_in_every_encoding(void **state)
{
    const char *spec = "conv3x3x4p1,relu,dense5";
    nn_net *net = trained_net(spec, 2, 5, 4), *back;
    const char *path = tu_path(dir, "raw.onnx"), *copy = tu_path(dir, "re.onnx");
    char msg[256];
    size_t size;
    unsigned char *data;
    (void)state;
    assert_nn_ok(nn_onnx_save(net, path, 0, msg, sizeof msg));
    data = tu_read_file(path, &size);
    assert_nn_ok(nn_net_forward(net, 3));
    for (int how = FLOATS_ONE_BY_ONE; how <= FLOATS_MIXED; how++) {
        nn_pb_writer w;
        FILE *f;
        nn_pb_init(&w, (size_t)1 << 26);
        reencode(data, size, 0, how, &w);
        assert_false(w.failed);
        assert_true(w.size > size); /* 4 + 1 or more bytes a value */
        f = fopen(copy, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(w.data, 1, w.size, f), w.size);
        assert_int_equal(fclose(f), 0);
        nn_pb_free(&w);
        back = NULL;
        if (nn_onnx_load(copy, 3, 1, &back, msg, sizeof msg) != NN_OK)
            fail_msg("encoding %d: %s", how, msg);
        assert_int_equal(nn_net_param_count(back), nn_net_param_count(net));
        assert_memory_equal(nn_net_params(back), nn_net_params(net),
                            nn_net_param_count(net) * sizeof(float));
        memcpy(nn_net_input(back)->x, nn_net_input(net)->x,
               (size_t)3 * 2 * 5 * 4 * sizeof(float));
        assert_nn_ok(nn_net_forward(back, 3));
        assert_memory_equal(nn_net_output(back)->x, nn_net_output(net)->x,
                            nn_tensor_count(nn_net_output(net)) * sizeof(float));
        nn_net_destroy(back);
    }
    print_message("  one by one, two packed runs, mixed: same weights and "
                  "outputs\n");
    free(data);
    nn_net_destroy(net);
}

/* ------------------------------------------------ small graphs written here */

/* A ModelProto being written: IR 7, one opset, a graph with one input
 * (N, 1, 5, 5) (or another side) called "x" and the nodes and initializers
 * the test adds. */
typedef struct {
    nn_pb_writer w;
    size_t graph;
} model_writer;

/* The int64 encodings ONNX allows: raw_data, int64_data one value a field,
 * int64_data packed. */
enum { INTS_RAW, INTS_ONE_BY_ONE, INTS_PACKED };

/* A ValueInfoProto for (N, 1, side, side). */
static void value_info(nn_pb_writer *w, int field, const char *name, int side)
{
    const int dims[4] = {-1, 1, side, side};
    nn_onnx_value_info(w, field, name, dims, 4);
}

/* opset < 0: no opset_import at all. The input is (N, 1, side, side). */
static void mw_begin_sized(model_writer *mw, int opset, int side)
{
    nn_pb_init(&mw->w, (size_t)1 << 26);
    nn_pb_varint(&mw->w, MODEL_IR_VERSION, 7);
    if (opset >= 0) {
        size_t o = nn_pb_begin(&mw->w, MODEL_OPSET);
        nn_pb_string(&mw->w, OPSET_DOMAIN, "");
        nn_pb_varint(&mw->w, OPSET_VERSION, (uint64_t)opset);
        nn_pb_end(&mw->w, o);
    }
    mw->graph = nn_pb_begin(&mw->w, MODEL_GRAPH);
    nn_pb_string(&mw->w, GRAPH_NAME, "test");
    value_info(&mw->w, GRAPH_INPUT, "x", side);
}

static void mw_begin(model_writer *mw, int opset)
{
    mw_begin_sized(mw, opset, 5);
}

/* Starts a node op(in0, in1, in2) -> out (NULL inputs left out); its
 * attributes follow (mw_attr_*), then nn_pb_end(&mw->w, mark). */
static size_t mw_node_begin(model_writer *mw, const char *op, const char *in0,
                            const char *in1, const char *in2, const char *out)
{
    const char *inputs[3] = {in0, in1, in2};
    size_t node = nn_pb_begin(&mw->w, GRAPH_NODE);
    for (int i = 0; i < 3 && inputs[i]; i++)
        nn_pb_string(&mw->w, NODE_INPUT, inputs[i]);
    nn_pb_string(&mw->w, NODE_OUTPUT, out);
    nn_pb_string(&mw->w, NODE_OP, op);
    return node;
}

/* A node op(in0, in1, in2) -> out (NULL inputs left out), with one INTS
 * attribute when attr is not NULL. */
static void mw_node(model_writer *mw, const char *op, const char *in0,
                    const char *in1, const char *in2, const char *out,
                    const char *attr, const int *ints, int n)
{
    size_t node = mw_node_begin(mw, op, in0, in1, in2, out);
    if (attr) {
        size_t a = nn_pb_begin(&mw->w, NODE_ATTR);
        nn_pb_string(&mw->w, ATTR_NAME, attr);
        for (int i = 0; i < n; i++)
            nn_pb_varint(&mw->w, ATTR_INTS, (uint64_t)(int64_t)ints[i]);
        nn_pb_varint(&mw->w, ATTR_TYPE, ATTR_INTS_TYPE);
        nn_pb_end(&mw->w, a);
    }
    nn_pb_end(&mw->w, node);
}

/* The conv weights "W" (2, 1, 3, 3), values 0.1 i. */
static void mw_conv_weights(model_writer *mw)
{
    static const int dims[4] = {2, 1, 3, 3};
    float values[18];
    for (int i = 0; i < 18; i++)
        values[i] = 0.1f * (float)i;
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    nn_onnx_initializer(&g, "W", dims, 4, values);
}

/* A model (opset: as mw_begin) with the weights "W" and a node Conv(x, W)
 * -> out, with one INTS attribute when attr is not NULL. */
static void mw_conv(model_writer *mw, int opset, const char *out,
                    const char *attr, const int *ints, int n)
{
    mw_begin(mw, opset);
    mw_conv_weights(mw);
    mw_node(mw, "Conv", "x", "W", NULL, out, attr, ints, n);
}

/* An INT64 initializer of n values, in the encoding `how`. */
static void mw_int64s(model_writer *mw, const char *name, const int64_t *v,
                      int n, int how)
{
    unsigned char bytes[8 * 10];
    size_t size = 0, t = nn_pb_begin(&mw->w, GRAPH_INITIALIZER);
    nn_pb_varint(&mw->w, TENSOR_DIMS, (uint64_t)n);
    nn_pb_varint(&mw->w, TENSOR_TYPE, 7); /* INT64 */
    nn_pb_string(&mw->w, TENSOR_NAME, name);
    for (int i = 0; i < n; i++) {
        uint64_t x = (uint64_t)v[i];
        if (how == INTS_RAW)
            for (int b = 0; b < 8; b++)
                bytes[size++] = (unsigned char)(x >> (8 * b));
        else if (how == INTS_ONE_BY_ONE)
            nn_pb_varint(&mw->w, 7, x);
        else
            do
                bytes[size++] = (unsigned char)((x & 0x7f) | (x > 0x7f ? 0x80 : 0));
            while ((x >>= 7) != 0);
    }
    if (how != INTS_ONE_BY_ONE)
        nn_pb_bytes(&mw->w, how == INTS_RAW ? TENSOR_RAW : 7, bytes, size);
    nn_pb_end(&mw->w, t);
}

/* A Pad node from `in` to `out` padding height and width by p (pads in an
 * initializer named after out, encoded `how`). */
static void mw_pad(model_writer *mw, const char *in, const char *out, int p,
                   int how)
{
    const int64_t pads[8] = {0, 0, p, p, 0, 0, p, p};
    char name[32];
    snprintf(name, sizeof name, "%s_pads", out);
    mw_int64s(mw, name, pads, 8, how);
    mw_node(mw, "Pad", in, name, NULL, out, NULL, NULL, 0);
}

/* Ends the graph with output `output` (NULL: none) and writes the file. */
static const char *mw_end(model_writer *mw, const char *output)
{
    const char *path = tu_path(dir, "small.onnx");
    if (output)
        value_info(&mw->w, GRAPH_OUTPUT, output, 5);
    nn_pb_end(&mw->w, mw->graph);
    assert_false(mw->w.failed);
    tu_write_file(path, mw->w.data, mw->w.size);
    nn_pb_free(&mw->w);
    return path;
}

/* The net path imports to, which must be spec (fails when refused). */
static nn_net *load_as(const char *path, const char *spec)
{
    nn_net *net = NULL;
    char msg[256] = "", got[256];
    if (nn_onnx_load(path, 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("refused: %s", msg);
    assert_nn_ok(nn_net_spec(net, got, sizeof got));
    assert_string_equal(got, spec);
    return net;
}

/* The spec of the net path imports to (fails when it is refused). */
static void check_imports_as(const char *path, const char *spec)
{
    nn_net_destroy(load_as(path, spec));
}

/* Pad's pads in every int64 encoding fold into the convolution after it,
 * and Pads in a row add up. Before, pads in int64_data read as zeros and a
 * second Pad replaced the first. */
static void test_pads_in_every_encoding_and_in_a_row(void **state)
{
    model_writer mw;
    (void)state;
    for (int how = INTS_RAW; how <= INTS_PACKED; how++) {
        mw_begin(&mw, 13);
        mw_conv_weights(&mw);
        mw_pad(&mw, "x", "p", 1, how);
        mw_node(&mw, "Conv", "p", "W", NULL, "y", NULL, NULL, 0);
        check_imports_as(mw_end(&mw, "y"), "conv3x3x2p1");
    }
    mw_begin(&mw, 13);
    mw_conv_weights(&mw);
    mw_pad(&mw, "x", "p", 1, INTS_PACKED);
    mw_pad(&mw, "p", "q", 2, INTS_RAW);
    mw_node(&mw, "Conv", "q", "W", NULL, "y", NULL, NULL, 0);
    check_imports_as(mw_end(&mw, "y"), "conv3x3x2p3");
    print_message("  pads raw, one by one and packed: p1; two Pads: p3\n");
}

/* Graphs ONNX Runtime refuses, or that would import to another function
 * than it computes, are refused, each naming why. */
static void test_graphs_that_break_onnx_rules_are_refused(void **state)
{
    static const int zero[2] = {0, 0};
    model_writer mw;
    (void)state;
    /* a Pad last: its padding would be dropped */
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_pad(&mw, "c", "y", 1, INTS_RAW);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Pad' ends the graph");
    /* the output is not the last node's */
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_node(&mw, "Relu", "c", NULL, NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "c"), NN_EFORMAT,
                  "the graph's output 'c' is not the last node's output 'y'");
    mw_conv(&mw, 13, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, NULL), NN_EFORMAT, "the graph has 0 outputs");
    for (int opset = -1; opset <= 99; opset += 100) {
        mw_conv(&mw, opset == -1 ? 1 : opset, "y", NULL, NULL, 0);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                      opset == -1 ? "opset 1: libnn reads opsets 6 to 21"
                                  : "opset 99: libnn reads opsets 6 to 21");
    }
    mw_conv(&mw, -1, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "imports no opset");
    mw_conv(&mw, 13, "a", NULL, NULL, 0); /* a name written twice */
    mw_node(&mw, "Relu", "a", NULL, NULL, "b", NULL, NULL, 0);
    mw_node(&mw, "Relu", "b", NULL, NULL, "a", NULL, NULL, 0);
    check_refused(mw_end(&mw, "a"), NN_EFORMAT,
                  "node 2 'Relu' writes 'a', which a node wrote already");
    mw_conv(&mw, 13, "x", NULL, NULL, 0);
    check_refused(mw_end(&mw, "x"), NN_EFORMAT,
                  "node 0 'Conv' reads its own output 'x'");
    mw_conv(&mw, 13, "y", NULL, NULL, 0);
    mw_node(&mw, "Relu", "y", NULL, NULL, "W", NULL, NULL, 0);
    check_refused(mw_end(&mw, "W"), NN_EFORMAT,
                  "node 1 'Relu' writes 'W', which is an initializer");
    mw_conv(&mw, 13, "y", "kernel_shape", zero, 2);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                  "node 0 'Conv': kernel_shape is not its weights' 3x3");
    mw_conv(&mw, 13, "y", "strides", zero, 2);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "stride 0");
    mw_begin(&mw, 13); /* too many nodes, named as such */
    for (int i = 0; i < 5000; i++) {
        char in[16], out[16];
        snprintf(in, sizeof in, "t%d", i);
        snprintf(out, sizeof out, "t%d", i + 1);
        mw_node(&mw, "Identity", i ? in : "x", NULL, NULL, out, NULL, NULL, 0);
    }
    check_refused(mw_end(&mw, "t5000"), NN_EFORMAT,
                  "5000 nodes: libnn reads at most 4096");
}

/* ------------------------------------- attributes ONNX's conformance tests use */

static void mw_attr_int(model_writer *mw, const char *name, int v)
{
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    nn_onnx_attr_int(&g, name, v);
}

static void mw_attr_float(model_writer *mw, const char *name, float v)
{
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    nn_onnx_attr_float(&g, name, v);
}

/* A node op(in) -> out with one INT attribute (none when attr is NULL). */
static void mw_node_int(model_writer *mw, const char *op, const char *in,
                        const char *out, const char *attr, int v)
{
    size_t node = mw_node_begin(mw, op, in, NULL, NULL, out);
    if (attr)
        mw_attr_int(mw, attr, v);
    nn_pb_end(&mw->w, node);
}

/* A STRING attribute (type 3, bytes in field 4). */
static void mw_attr_string(model_writer *mw, const char *name, const char *v)
{
    size_t a = nn_pb_begin(&mw->w, NODE_ATTR);
    nn_pb_string(&mw->w, ATTR_NAME, name);
    nn_pb_string(&mw->w, 4, v);
    nn_pb_varint(&mw->w, ATTR_TYPE, 3);
    nn_pb_end(&mw->w, a);
}

/* A float initializer of the given dims, values 0.01 i - 0.1. */
static void mw_floats(model_writer *mw, const char *name, const int *dims, int rank)
{
    float values[256];
    size_t count = 1;
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    for (int i = 0; i < rank; i++)
        count *= (size_t)dims[i];
    assert_true(count <= 256);
    for (size_t i = 0; i < count; i++)
        values[i] = 0.01f * (float)i - 0.1f;
    nn_onnx_initializer(&g, name, dims, rank, values);
}

/* Flatten x (N, 25), then the node `op` with weights "B" (25, 4) and bias
 * "C" of the given dims (rank 0: no bias), into "y". */
static size_t mw_dense(model_writer *mw, const char *op, const int *c_dims,
                       int c_rank)
{
    static const int b_dims[2] = {25, 4};
    mw_node(mw, "Flatten", "x", NULL, NULL, "f", NULL, NULL, 0);
    mw_floats(mw, "B", b_dims, 2);
    if (c_rank)
        mw_floats(mw, "C", c_dims, c_rank);
    return mw_node_begin(mw, op, "f", "B", c_rank ? "C" : NULL, "y");
}

/* A bias (4, 1) broadcasts along the batch (one value a sample, for batch
 * 4), not the outputs: it was imported as a bias per output, a silently
 * different function. Now refused, for Gemm's C and MatMul + Add; (1, 4)
 * and (4) are a bias per output. */
static void test_a_bias_along_the_batch_is_refused(void **state)
{
    static const int column[2] = {4, 1}, row[2] = {1, 4}, vector[1] = {4};
    model_writer mw;
    (void)state;
    mw_begin(&mw, 13);
    nn_pb_end(&mw.w, mw_dense(&mw, "Gemm", column, 2));
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Gemm': its bias (4 "
                  "values) is not one value per output of its 4");
    mw_begin(&mw, 13);
    nn_pb_end(&mw.w, mw_dense(&mw, "Gemm", row, 2));
    check_imports_as(mw_end(&mw, "y"), "dense4");
    mw_begin(&mw, 13);
    mw_floats(&mw, "C", column, 2);
    nn_pb_end(&mw.w, mw_dense(&mw, "MatMul", NULL, 0));
    nn_pb_end(&mw.w, mw_node_begin(&mw, "Add", "y", "C", NULL, "z"));
    check_refused(mw_end(&mw, "z"), NN_EFORMAT,
                  "node 2 'Add': not the bias of a MatMul before it");
    mw_begin(&mw, 13);
    mw_floats(&mw, "C", vector, 1);
    nn_pb_end(&mw.w, mw_dense(&mw, "MatMul", NULL, 0));
    nn_pb_end(&mw.w, mw_node_begin(&mw, "Add", "y", "C", NULL, "z"));
    check_imports_as(mw_end(&mw, "z"), "dense4");
}

/* Gemm's alpha and beta fold into the weights and bias, and a bias of one
 * value is added to every output: y = 2 f B + 0.5 c. */
static void test_gemm_alpha_beta_and_one_bias_value(void **state)
{
    static const int one[1] = {1};
    model_writer mw;
    nn_net *net = NULL;
    char msg[256];
    size_t node;
    (void)state;
    mw_begin(&mw, 13);
    node = mw_dense(&mw, "Gemm", one, 1);
    mw_attr_float(&mw, "alpha", 2.0f);
    mw_attr_float(&mw, "beta", 0.5f);
    nn_pb_end(&mw.w, node);
    if (nn_onnx_load(mw_end(&mw, "y"), 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    for (int i = 0; i < 2 * 25; i++)
        nn_net_input(net)->x[i] = 0.1f * (float)(i % 7) - 0.3f;
    assert_nn_ok(nn_net_forward(net, 2));
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 4; o++) {
            double want = 0.5 * -0.1; /* c = 0.01 * 0 - 0.1 */
            for (int i = 0; i < 25; i++)
                want += 2.0 * (0.1 * ((n * 25 + i) % 7) - 0.3) * (0.01 * (i * 4 + o) - 0.1);
            assert_true(fabs(nn_net_output(net)->x[n * 4 + o] - want) < 1e-5);
        }
    nn_net_destroy(net);
    mw_begin(&mw, 13);
    node = mw_dense(&mw, "Gemm", one, 1);
    mw_attr_int(&mw, "transA", 1);
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "transA 1");
}

/* A final Softmax is the loss's only when it is over each sample's values:
 * over axis 0 (the batch) or, from opset 13, over the channels of
 * (N, C, H, W) alone it was dropped all the same. */
static void test_a_final_softmax_over_another_axis_is_refused(void **state)
{
    static const int vector[1] = {4};
    model_writer mw;
    (void)state;
    for (int axis = -2; axis <= 1; axis++) {
        mw_begin(&mw, 13);
        nn_pb_end(&mw.w, mw_dense(&mw, "Gemm", vector, 1));
        mw_node_int(&mw, "Softmax", "y", "p", "axis", axis);
        if (axis == 1 || axis == -1)
            check_imports_as(mw_end(&mw, "p"), "dense4");
        else
            check_refused(mw_end(&mw, "p"), NN_EFORMAT, axis == 0
                          ? "node 2 'Softmax' over axis 0 of a 2-D tensor"
                          : "node 2 'Softmax' over axis -2 of a 2-D tensor");
    }
    for (int opset = 11; opset <= 13; opset += 2) {
        /* the default axis: 1 before 13, then -1 */
        mw_conv(&mw, opset, "c", NULL, NULL, 0);
        nn_pb_end(&mw.w, mw_node_begin(&mw, "Softmax", "c", NULL, NULL, "p"));
        if (opset == 11)
            check_imports_as(mw_end(&mw, "p"), "conv3x3x2");
        else
            check_refused(mw_end(&mw, "p"), NN_EFORMAT,
                          "node 1 'Softmax' over axis -1 of a 4-D tensor");
    }
}

/* auto_pad NOTSET and VALID, and SAME where it pads alike on every side
 * (stride 1, odd kernel); Flatten's axis -3 of (N, C, H, W) is axis 1. */
static void test_auto_pad_and_flatten_axis(void **state)
{
    static const char *const modes[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    static const char *const specs[] = {"conv3x3x2", "conv3x3x2", "conv3x3x2p1", "conv3x3x2p1"};
    static const int two[2] = {2, 2}, vector[1] = {4};
    model_writer mw;
    size_t node;
    (void)state;
    for (int i = 0; i < 4; i++) {
        mw_begin(&mw, 13);
        mw_conv_weights(&mw);
        node = mw_node_begin(&mw, "Conv", "x", "W", NULL, "y");
        mw_attr_string(&mw, "auto_pad", modes[i]);
        nn_pb_end(&mw.w, node);
        check_imports_as(mw_end(&mw, "y"), specs[i]);
    }
    mw_begin(&mw, 13); /* SAME with stride 2 pads by the input's size */
    mw_conv_weights(&mw);
    node = mw_node_begin(&mw, "Conv", "x", "W", NULL, "y");
    mw_attr_string(&mw, "auto_pad", "SAME_UPPER");
    nn_onnx_attr_ints(&(nn_onnx_graph){.graph = &mw.w, .rank = 4}, "strides", two, 2);
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 0 'Conv': groups, "
                  "dilation, auto_pad");
    for (int same = 0; same <= 1; same++) { /* SAME pads a 2x2 window unevenly */
        mw_conv(&mw, 13, "c", NULL, NULL, 0);
        node = mw_node_begin(&mw, "MaxPool", "c", NULL, NULL, "m");
        mw_attr_string(&mw, "auto_pad", same ? "SAME_UPPER" : "VALID");
        nn_onnx_attr_ints(&(nn_onnx_graph){.graph = &mw.w, .rank = 4}, "kernel_shape", two, 2);
        nn_pb_end(&mw.w, node);
        if (same)
            check_refused(mw_end(&mw, "m"), NN_EFORMAT, "node 1 'MaxPool'");
        else
            check_imports_as(mw_end(&mw, "m"), "conv3x3x2,pool2s1");
    }
    mw_begin(&mw, 13);
    mw_node_int(&mw, "Flatten", "x", "f", "axis", -3);
    mw_floats(&mw, "B", (const int[2]){25, 4}, 2);
    mw_floats(&mw, "C", vector, 1);
    nn_pb_end(&mw.w, mw_node_begin(&mw, "Gemm", "f", "B", "C", "y"));
    check_imports_as(mw_end(&mw, "y"), "dense4");
}

/* Opset 6 (PyTorch's older exports): Dropout and BatchNormalization are the
 * inference form only with is_test set, Gemm's bias a vector only with
 * broadcast set. */
static void test_opset6_is_test_and_broadcast(void **state)
{
    static const int vector[1] = {4};
    model_writer mw;
    size_t node;
    (void)state;
    for (int is_test = -1; is_test <= 1; is_test++) {
        mw_conv(&mw, 6, "c", NULL, NULL, 0);
        mw_node_int(&mw, "Dropout", "c", "y", is_test >= 0 ? "is_test" : NULL, is_test);
        if (is_test == 1)
            check_imports_as(mw_end(&mw, "y"), "conv3x3x2,dropout0.5");
        else
            check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                          "node 1 'Dropout' without is_test");
    }
    for (int broadcast = 0; broadcast <= 1; broadcast++) {
        mw_begin(&mw, 6);
        node = mw_dense(&mw, "Gemm", vector, 1);
        if (broadcast)
            mw_attr_int(&mw, "broadcast", 1);
        nn_pb_end(&mw.w, node);
        if (broadcast)
            check_imports_as(mw_end(&mw, "y"), "dense4");
        else
            check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Gemm': opset 6 "
                          "adds a bias along the outputs only with broadcast 1");
    }
}

/* What a review found read wrongly or said wrongly: a Pad whose `axes`
 * input moves its pads to other axes, a Pad of an opset that keeps its pads
 * in an attribute, BatchNormalization with spatial 0, a node's second
 * output writing a name again, too many outputs, a graph output whose name
 * is too long for the reader. Each is refused, saying why. */
static void test_pad_axes_old_opsets_and_outputs(void **state)
{
    static const int64_t pads[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    static const int64_t axes[4] = {2, 3, 0, 1};
    char longname[200];
    model_writer mw;
    size_t node;
    (void)state;
    for (int opset = 10; opset <= 18; opset += 8) {
        mw_begin(&mw, opset);
        mw_conv_weights(&mw);
        mw_int64s(&mw, "pads", pads, 8, INTS_RAW);
        mw_int64s(&mw, "axes", axes, 4, INTS_RAW);
        node = mw_node_begin(&mw, "Pad", "x", "pads", "", "p");
        if (opset == 18)
            nn_pb_string(&mw.w, NODE_INPUT, "axes");
        nn_pb_end(&mw.w, node);
        mw_node(&mw, "Conv", "p", "W", NULL, "y", NULL, NULL, 0);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                      opset == 18 ? "node 0 'Pad': libnn reads pads over "
                                    "(N, C, H, W), not over the axes"
                                  : "node 0 'Pad': before opset 11 its pads "
                                    "are an attribute");
    }
    mw_conv(&mw, 8, "c", NULL, NULL, 0);
    mw_node_int(&mw, "BatchNormalization", "c", "y", "spatial", 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                  "node 1 'BatchNormalization' with spatial 0");
    mw_conv(&mw, 13, "c", NULL, NULL, 0); /* Relu's second output: "x" */
    node = mw_node_begin(&mw, "Relu", "c", NULL, NULL, "y");
    nn_pb_string(&mw.w, NODE_OUTPUT, "x");
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                  "node 1 'Relu' writes 'x', which is the graph's input");
    mw_begin(&mw, 13);
    mw_conv_weights(&mw);
    node = mw_node_begin(&mw, "Conv", "x", "W", NULL, "c");
    for (int i = 0; i < 8; i++) {
        char name[24];
        snprintf(name, sizeof name, "extra%d", i);
        nn_pb_string(&mw.w, NODE_OUTPUT, name);
    }
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "c"), NN_EFORMAT,
                  "node 0 'Conv' has more than 8 outputs");
    memset(longname, 'o', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    mw_conv(&mw, 13, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, longname), NN_EFORMAT,
                  "a graph output's name is longer than 127 bytes");
}

/* Attributes away from their defaults, in every position: asymmetric
 * padding of a Conv, an AveragePool or a Pad in each of its positions, each
 * refused naming the node (MaxPool's: test_pooling_attributes_import). */
static void test_every_position_of_asymmetric_pads_is_refused(void **state)
{
    model_writer mw;
    size_t node;
    (void)state;
    for (int at = 0; at < 4; at++) {
        int pads[4] = {0, 0, 0, 0};
        pads[at] = 1;
        mw_conv(&mw, 13, "y", "pads", pads, 4);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 0 'Conv': groups, "
                      "dilation, auto_pad, unequal strides or asymmetric");
        mw_begin(&mw, 13);
        node = mw_node_begin(&mw, "AveragePool", "x", NULL, NULL, "y");
        {
            nn_onnx_graph g = {.graph = &mw.w, .rank = 4};
            nn_onnx_attr_ints(&g, "kernel_shape", (const int[]){3, 3}, 2);
            nn_onnx_attr_ints(&g, "pads", pads, 4);
            nn_onnx_attr_int(&g, "count_include_pad", 1);
        }
        nn_pb_end(&mw.w, node);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                      "node 0 'AveragePool': asymmetric pads");
    }
    for (int at = 0; at < 8; at++) {
        int64_t pads[8] = {0, 0, 1, 1, 0, 0, 1, 1};
        pads[at] += 1;
        mw_begin(&mw, 13);
        mw_conv_weights(&mw);
        mw_int64s(&mw, "pads", pads, 8, INTS_PACKED);
        mw_node(&mw, "Pad", "x", "pads", NULL, "p", NULL, NULL, 0);
        mw_node(&mw, "Conv", "p", "W", NULL, "y", NULL, NULL, 0);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                      "node 0 'Pad': libnn pads height and width alike");
    }
}

/* ------------------------------------- pooling and batchnorm options */

/* A pooling node op(in) -> out: a k x kw window, strides s; pads (4
 * values), ceil_mode and count_include_pad only when given (pads not NULL,
 * the others >= 0). */
static void mw_pool(model_writer *mw, const char *op, const char *in,
                    const char *out, int k, int kw, int s, const int *pads,
                    int ceil, int count_pad)
{
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    size_t node = mw_node_begin(mw, op, in, NULL, NULL, out);
    int kernel[2] = {k, kw}, strides[2] = {s, s};
    nn_onnx_attr_ints(&g, "kernel_shape", kernel, 2);
    nn_onnx_attr_ints(&g, "strides", strides, 2);
    if (pads)
        nn_onnx_attr_ints(&g, "pads", pads, 4);
    if (ceil >= 0)
        nn_onnx_attr_int(&g, "ceil_mode", ceil);
    if (count_pad >= 0)
        nn_onnx_attr_int(&g, "count_include_pad", count_pad);
    nn_pb_end(&mw->w, node);
}

/* PyTorch's ResNet stem, conv then MaxPool2d(3, stride 2, padding 1), and
 * the other pooling attributes: pads and ceil_mode of MaxPool (the padding
 * never wins: the output is the largest value of the window inside the
 * conv's output, computed here), count_include_pad 0 and 1 and ceil_mode
 * of AveragePool, a rectangular window; a Pad folds into an AveragePool
 * that counts its padding but not into a MaxPool or one that does not;
 * asymmetric pads and a padding as large as the window are refused,
 * saying so. */
static void test_pooling_attributes_import(void **state)
{
    static const int one[4] = {1, 1, 1, 1}, three[4] = {3, 3, 3, 3};
    static const struct {
        const char *op;
        int k, kw, stride;
        const int *pads;
        int ceil, count_pad;
        const char *spec;
    } cases[] = {
        {"MaxPool", 3, 3, 2, one, -1, -1, "pool3s2p1"},
        {"MaxPool", 3, 3, 2, NULL, 1, -1, "pool3s2c"},
        {"MaxPool", 3, 3, 2, one, 1, -1, "pool3s2p1c"},
        {"MaxPool", 3, 2, 1, NULL, 0, -1, "pool3x2s1"},
        {"AveragePool", 3, 3, 2, one, -1, 1, "avgpool3s2p1"},
        {"AveragePool", 3, 3, 2, one, -1, 0, "avgpool3s2p1e"},
        {"AveragePool", 3, 3, 2, one, -1, -1, "avgpool3s2p1e"},
        {"AveragePool", 3, 3, 2, NULL, -1, -1, "avgpool3s2"},
        {"AveragePool", 3, 3, 2, NULL, 1, 0, "avgpool3s2c"},
        {"AveragePool", 3, 3, 2, one, 1, 0, "avgpool3s2p1ce"},
        {"AveragePool", 3, 3, 2, one, 1, -1, "avgpool3s2p1ce"},
        {"AveragePool", 3, 3, 1, one, 1, 1, "avgpool3s1p1c"},
        {"AveragePool", 3, 3, 2, one, 1, 1, "avgpool3s2p1c"},
        {"AveragePool", 3, 3, 3, one, 1, 0, "avgpool3p1ce"},
        {"MaxPool", 2, 2, 2, one, 1, -1, "pool2p1c"},
    };
    static const struct {
        const char *op;
        int k, stride;
        const int *pads;
        int ceil, count_pad;
        const char *why;
    } refused[] = {
        {"MaxPool", 3, 1, three, 0, -1, "node 1 'MaxPool': padding 3 is not "
                                        "below the window 3x3"},
        {"AveragePool", 3, 1, three, 1, 1, "node 1 'AveragePool': padding 3 "
                                           "is not below the window 3x3"},
    };
    model_writer mw;
    nn_net *net;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char spec[64];
        mw_conv(&mw, 13, "c", "pads", one, 4);
        mw_pool(&mw, cases[i].op, "c", "y", cases[i].k, cases[i].kw,
                cases[i].stride, cases[i].pads, cases[i].ceil,
                cases[i].count_pad);
        snprintf(spec, sizeof spec, "conv3x3x2p1,%s", cases[i].spec);
        check_imports_as(mw_end(&mw, "y"), spec);
    }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        mw_conv(&mw, 13, "c", "pads", one, 4);
        mw_pool(&mw, refused[i].op, "c", "y", refused[i].k, refused[i].k,
                refused[i].stride, refused[i].pads, refused[i].ceil,
                refused[i].count_pad);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT, refused[i].why);
    }
    for (int at = 0; at < 4; at++) { /* asymmetric MaxPool pads */
        int pads[4] = {1, 1, 1, 1};
        pads[at] = 0;
        mw_conv(&mw, 13, "c", NULL, NULL, 0);
        mw_pool(&mw, "MaxPool", "c", "y", 2, 2, 1, pads, -1, -1);
        check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                      "node 1 'MaxPool': asymmetric pads");
    }

    /* The stem on 5 x 5: conv 3x3 p1 (5 x 5), then 3 x 3 maxima. */
    mw_conv(&mw, 13, "c", "pads", one, 4);
    mw_pool(&mw, "MaxPool", "c", "y", 3, 3, 2, one, -1, -1);
    net = load_as(mw_end(&mw, "y"), "conv3x3x2p1,pool3s2p1");
    for (int i = 0; i < 2 * 25; i++) /* the conv's output is negative too */
        nn_net_input(net)->x[i] = -1.0f - 0.1f * (float)(i % 7);
    assert_nn_ok(nn_net_forward(net, 2));
    for (int p = 0; p < 2 * 2; p++)
        for (int oy = 0; oy < 3; oy++)
            for (int ox = 0; ox < 3; ox++) {
                const float *c = nn_net_layer_output(net, 0)->x + p * 25;
                float best = -INFINITY;
                for (int ih = 2 * oy - 1; ih < 2 * oy + 2; ih++)
                    for (int iw = 2 * ox - 1; iw < 2 * ox + 2; iw++)
                        if (ih >= 0 && ih < 5 && iw >= 0 && iw < 5 &&
                            c[ih * 5 + iw] > best)
                            best = c[ih * 5 + iw];
                assert_true(best < 0.0f);
                assert_close(nn_net_output(net)->x[p * 9 + oy * 3 + ox], best, 0.0);
            }
    nn_net_destroy(net);

    /* A zero Pad is an input of zeros: it folds into a counted padding. */
    mw_begin(&mw, 13);
    mw_pad(&mw, "x", "p", 1, INTS_RAW);
    mw_pool(&mw, "AveragePool", "p", "y", 3, 3, 1, NULL, -1, -1);
    check_imports_as(mw_end(&mw, "y"), "avgpool3s1p1");
    mw_begin(&mw, 13);
    mw_pad(&mw, "x", "p", 1, INTS_RAW);
    mw_pool(&mw, "AveragePool", "p", "y", 3, 3, 1, one, -1, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'AveragePool' after "
                  "a zero Pad: libnn folds padding only into");
    mw_begin(&mw, 13);
    mw_pad(&mw, "x", "p", 1, INTS_RAW);
    mw_pool(&mw, "MaxPool", "p", "y", 3, 3, 1, NULL, -1, -1);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'MaxPool' after a "
                  "zero Pad");
}

/* BatchNormalization(x, scale, B, mean, var) of one channel with the
 * given epsilon (none when eps < 0). */
static void mw_batchnorm(model_writer *mw, float eps)
{
    static const int one[1] = {1};
    static const float gamma = 1.5f, beta = -0.25f, mean = 0.5f, var = 2e-3f;
    nn_onnx_graph g = {.graph = &mw->w, .rank = 4};
    size_t node;
    nn_onnx_initializer(&g, "g", one, 1, &gamma);
    nn_onnx_initializer(&g, "b", one, 1, &beta);
    nn_onnx_initializer(&g, "m", one, 1, &mean);
    nn_onnx_initializer(&g, "v", one, 1, &var);
    node = mw_node_begin(mw, "BatchNormalization", "x", "g", "b", "y");
    nn_pb_string(&mw->w, NODE_INPUT, "m");
    nn_pb_string(&mw->w, NODE_INPUT, "v");
    if (eps >= 0.0f)
        mw_attr_float(mw, "epsilon", eps);
    nn_pb_end(&mw->w, node);
}

/* Keras's BatchNormalization exports epsilon 1e-3: it imports as bneps0.001
 * and computes 1.5 (x - 0.5) / sqrt(2e-3 + 1e-3) - 0.25 (with 1e-5 the
 * outputs would be 22% larger); an absent epsilon is ONNX's 1e-5; an
 * epsilon out of (0, 1] is refused. */
static void test_batchnorm_epsilon_imports(void **state)
{
    model_writer mw;
    nn_net *net;
    (void)state;
    mw_begin(&mw, 13);
    mw_batchnorm(&mw, 1e-3f);
    net = load_as(mw_end(&mw, "y"), "bneps0.001");
    nn_net_set_training(net, 0);
    for (int i = 0; i < 25; i++)
        nn_net_input(net)->x[i] = 0.1f * (float)i - 1.0f;
    assert_nn_ok(nn_net_forward(net, 1));
    for (int i = 0; i < 25; i++)
        assert_close(nn_net_output(net)->x[i],
                     1.5 * ((0.1f * (float)i - 1.0f) - 0.5) /
                             sqrt((double)2e-3f + (double)1e-3f) - 0.25,
                     1e-5);
    nn_net_destroy(net);
    mw_begin(&mw, 13);
    mw_batchnorm(&mw, -1.0f);
    check_imports_as(mw_end(&mw, "y"), "bn");
    mw_begin(&mw, 13);
    mw_batchnorm(&mw, 0.0f);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 0 'BatchNormalization': "
                  "epsilon 0: libnn's batchnorm takes an epsilon in (0, 1]");
    mw_begin(&mw, 13);
    mw_batchnorm(&mw, 2.0f);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "epsilon 2: libnn's batchnorm");
}

/* Found by fuzz_onnx: a file of a few hundred bytes declaring its input
 * (N, 1, 4096, 4096) before a MatMul of 64 outputs made the reader build
 * the net, 2^30 weights (4 GiB), before it found that the file holds 128.
 * The counts are now compared before anything is allocated. */
static void test_regression_a_large_input_is_checked_before_building(void **state)
{
    static const int w_dims[2] = {1, 64};
    model_writer mw;
    (void)state;
    mw_begin_sized(&mw, 13, 4096);
    mw_node(&mw, "Flatten", "x", NULL, NULL, "f", NULL, NULL, 0);
    mw_floats(&mw, "W", w_dims, 2);
    mw_node(&mw, "MatMul", "f", "W", NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "the file holds 128 weights "
                  "and 0 state values, the layers 1073741888 and 0 for the "
                  "input 1x4096x4096");
}

/* ------------------------------------------------------------- graphs */

/* Nets whose layers read earlier outputs: an identity shortcut, the input
 * read by three layers (two convolutions and a concat), a 1x1 projection
 * shortcut, an add of three (Sum), adds of dense outputs (N, F), an add and
 * a concat of a dense output with a pooled one (N, C, 1, 1), and the
 * resnet-small preset: each exports and imports back to the same spec
 * (names too), weights, statistics and outputs, bit for bit. */
static void test_graph_nets_round_trip(void **state)
{
    (void)state;
    check_round_trip("conv3x3x4p1,relu@a,conv3x3x4p1,bn,add(a),relu,dense3",
                     2, 6, 5);
    check_round_trip("conv3x3x4p1@a,conv1x1x2(input)@b,concat(a,b,input),"
                     "conv3x3x3p1,gap,dense5", 2, 6, 6);
    check_round_trip("conv3x3x4s2p1,bn,relu,conv3x3x4p1,bn@m,"
                     "conv1x1x4s2(input),bn,add(m),relu,gap,dense3", 3, 8, 7);
    check_round_trip("conv3x3x4p1@a,relu@b,tanh@c,add(a,b,c),dense3", 2, 5, 5);
    check_round_trip("dense6@a,relu,dense6,add(a),dense3", 2, 3, 3);
    check_round_trip("conv3x3x4p1,gap@g,dense4,add(g),relu@d,concat(g,d),"
                     "dense3", 2, 5, 5);
    check_round_trip("resnet-small", 1, 28, 28);
}

/* tests/fixtures/onnx_residual.onnx: y = relu(conv(x)) + x, a 3x3 conv of
 * ones padded by 1, on (N, 1, 4, 4). */
static void test_a_residual_connection_imports(void **state)
{
    nn_net *net = NULL;
    char msg[256];
    const float *y;
    (void)state;
    if (nn_onnx_load(fixture("onnx_residual.onnx"), 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_nn_ok(nn_net_spec(net, msg, sizeof msg));
    assert_string_equal(msg, "conv3x3x1p1,relu,add(input)");
    for (int i = 0; i < 2 * 16; i++)
        nn_net_input(net)->x[i] = (float)((i * 7) % 11) - 5.0f;
    assert_nn_ok(nn_net_forward(net, 2));
    y = nn_net_output(net)->x;
    for (int n = 0; n < 2; n++)
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                const float *x = nn_net_input(net)->x + n * 16;
                float sum = 0.0f;
                for (int di = -1; di <= 1; di++)
                    for (int dj = -1; dj <= 1; dj++)
                        if (i + di >= 0 && i + di < 4 && j + dj >= 0 && j + dj < 4)
                            sum += x[(i + di) * 4 + j + dj];
                /* small integers: every order of the sum is exact */
                assert_true(y[n * 16 + i * 4 + j] ==
                            (sum > 0.0f ? sum : 0.0f) + x[i * 4 + j]);
            }
    print_message("  %s: relu(conv(x)) + x\n", msg);
    nn_net_destroy(net);
}

/* Add, Sum and Concat of the graph's tensors: the same tensor twice, Sum of
 * three, Concat along -3 (axis 1 of NCHW), Sum and Concat of one input
 * (the identity). */
static void test_adds_and_concats_import(void **state)
{
    model_writer mw;
    size_t node;
    (void)state;
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Add", "r", "r", NULL, "y", NULL, NULL, 0);
    check_imports_as(mw_end(&mw, "y"), "relu@l0,add(l0)");
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Sum", "r", "x", "r", "y", NULL, NULL, 0);
    check_imports_as(mw_end(&mw, "y"), "relu@l0,add(l0,input,l0)");
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    node = mw_node_begin(&mw, "Concat", "x", "r", NULL, "c");
    mw_attr_int(&mw, "axis", -3);
    nn_pb_end(&mw.w, node);
    mw_node(&mw, "Sum", "c", NULL, NULL, "s", NULL, NULL, 0);
    node = mw_node_begin(&mw, "Concat", "s", NULL, NULL, "y");
    mw_attr_int(&mw, "axis", 1);
    nn_pb_end(&mw.w, node);
    check_imports_as(mw_end(&mw, "y"), "relu@l0,concat(input,l0)");
}

/* ReduceMean over height and width (PyTorch's x.mean([2, 3])) is global
 * average pooling, its axes an attribute or (opset 18) an input, keepdims
 * 1 or 0; over other axes it is refused. */
static void test_a_mean_over_height_and_width_imports(void **state)
{
    static const int64_t hw[2] = {-1, -2};
    static const int vector[1] = {4};
    model_writer mw;
    size_t node;
    (void)state;
    for (int keep = 0; keep <= 1; keep++) {
        mw_conv(&mw, 13, "c", NULL, NULL, 0);
        node = mw_node_begin(&mw, "ReduceMean", "c", NULL, NULL, "m");
        nn_onnx_attr_ints(&(nn_onnx_graph){.graph = &mw.w}, "axes",
                          (const int[2]){2, 3}, 2);
        mw_attr_int(&mw, "keepdims", keep);
        nn_pb_end(&mw.w, node);
        if (keep)
            check_imports_as(mw_end(&mw, "m"), "conv3x3x2,gap");
        else { /* (N, 2): a Gemm may read it as it is */
            mw_floats(&mw, "B", (const int[2]){2, 4}, 2);
            mw_floats(&mw, "C", vector, 1);
            mw_node(&mw, "Gemm", "m", "B", "C", "y", NULL, NULL, 0);
            check_imports_as(mw_end(&mw, "y"), "conv3x3x2,gap,dense4");
        }
    }
    mw_conv(&mw, 18, "c", NULL, NULL, 0);
    mw_int64s(&mw, "axes", hw, 2, INTS_RAW);
    mw_node(&mw, "ReduceMean", "c", "axes", NULL, "m", NULL, NULL, 0);
    check_imports_as(mw_end(&mw, "m"), "conv3x3x2,gap");
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_node(&mw, "ReduceMean", "c", NULL, NULL, "m", "axes", (const int[2]){1, 2}, 2);
    check_refused(mw_end(&mw, "m"), NN_EFORMAT, "node 1 'ReduceMean': a mean "
                  "over other axes than height and width");
}

/* Slice of axis `axis` (2 or 3) from `start` to the end, every `step`-th,
 * of `in` into `out` (its bounds in int64 initializers named after out). */
static void mw_slice(model_writer *mw, const char *in, const char *out,
                     int axis, int start, int step)
{
    const int64_t starts[1] = {start}, ends[1] = {INT64_MAX};
    const int64_t axes[1] = {axis}, steps[1] = {step};
    char names[4][32];
    size_t node;
    static const char *const what[4] = {"starts", "ends", "axes", "steps"};
    const int64_t *values[4] = {starts, ends, axes, steps};
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s_%s", out, what[i]);
        mw_int64s(mw, names[i], values[i], 1, INTS_RAW);
    }
    node = mw_node_begin(mw, "Slice", in, names[0], names[1], out);
    nn_pb_string(&mw->w, NODE_INPUT, names[2]);
    nn_pb_string(&mw->w, NODE_INPUT, names[3]);
    nn_pb_end(&mw->w, node);
}

/* The zero-padded shortcut of residual nets ("option A"), as PyTorch
 * writes F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 1, 1)): one Slice per axis,
 * a Pad of channels. It imports as a 1x1 max pooling of stride 2 and a 1x1
 * convolution of 0 and 1 weights, and the sum it feeds is exact: each
 * output is the strided convolution's plus the sampled value or zero. */
static void test_a_zero_padded_shortcut_imports(void **state)
{
    static const int64_t pads[8] = {0, 1, 0, 0, 0, 1, 0, 0};
    static const int w4[4] = {4, 2, 3, 3};
    model_writer mw;
    nn_net *net;
    char msg[256] = "";
    size_t node;
    (void)state;
    mw_conv(&mw, 13, "c", "pads", (const int[4]){1, 1, 1, 1}, 4);
    mw_node(&mw, "Relu", "c", NULL, NULL, "r", NULL, NULL, 0);
    mw_slice(&mw, "r", "s1", 2, 0, 2);
    mw_slice(&mw, "s1", "s2", -1, 0, 2);
    mw_int64s(&mw, "pads", pads, 8, INTS_PACKED);
    mw_node(&mw, "Pad", "s2", "pads", NULL, "p", NULL, NULL, 0);
    mw_floats(&mw, "W4", w4, 4);
    node = mw_node_begin(&mw, "Conv", "r", "W4", NULL, "b");
    nn_onnx_attr_ints(&(nn_onnx_graph){.graph = &mw.w}, "strides",
                      (const int[2]){2, 2}, 2);
    nn_onnx_attr_ints(&(nn_onnx_graph){.graph = &mw.w}, "pads",
                      (const int[4]){1, 1, 1, 1}, 4);
    nn_pb_end(&mw.w, node);
    mw_node(&mw, "Add", "b", "p", NULL, "y", NULL, NULL, 0);
    if (nn_onnx_load(mw_end(&mw, "y"), 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_nn_ok(nn_net_spec(net, msg, sizeof msg));
    assert_string_equal(msg, "conv3x3x2p1,relu@l1,pool1s2,conv1x1x4@l3,"
                             "conv3x3x4s2p1(l1),add(l3)");
    for (int i = 0; i < 2 * 25; i++)
        nn_net_input(net)->x[i] = 0.1f * (float)((i * 7) % 13) - 0.5f;
    assert_nn_ok(nn_net_forward(net, 2));
    for (int n = 0; n < 2; n++)
        for (int o = 0; o < 4; o++)
            for (int i = 0; i < 9; i++) {
                const float *r = nn_net_layer_output(net, 1)->x + n * 50;
                float branch = nn_net_layer_output(net, 4)->x[(n * 4 + o) * 9 + i];
                float sampled = o == 0 || o == 3 ? 0.0f
                                : r[(o - 1) * 25 + (i / 3) * 10 + (i % 3) * 2];
                assert_true(nn_net_output(net)->x[(n * 4 + o) * 9 + i] ==
                            sampled + branch);
            }
    print_message("  F.pad(x[:, :, ::2, ::2]) + conv: %s, exact\n", msg);
    nn_net_destroy(net);
    /* a Slice of one axis alone, or from the second row, is refused */
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_slice(&mw, "c", "s", 2, 0, 2);
    mw_node(&mw, "Relu", "s", NULL, NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Slice' keeps one row "
                  "in 2 and one column in 1: libnn subsamples height and "
                  "width alike");
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_slice(&mw, "c", "s", 3, 1, 2);
    mw_node(&mw, "Relu", "s", NULL, NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Slice': libnn reads "
                  "a Slice of height and width from the first row and column");
}

/* Graphs libnn cannot represent, each refused naming the node: a Concat
 * along height, an Add that broadcasts (both shapes named), an Add of an
 * (N, F) and an (N, C, H, W) tensor, a zero Pad read by a node that cannot
 * fold it (a Pad read by two convolutions folds into both), a bias Add
 * after a MatMul whose output another node reads too, an unused branch,
 * nine inputs, a name no node writes, weights the graph computes. */
static void test_graphs_libnn_cannot_represent_are_refused(void **state)
{
    static const int b_dims[2] = {25, 4}, vector[1] = {4};
    model_writer mw;
    size_t node;
    (void)state;
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    node = mw_node_begin(&mw, "Concat", "x", "r", NULL, "y");
    mw_attr_int(&mw, "axis", 2);
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Concat': along axis "
                  "2 of a 4-D tensor: libnn concatenates along channels");
    mw_begin(&mw, 13);
    mw_node(&mw, "GlobalAveragePool", "x", NULL, NULL, "g", NULL, NULL, 0);
    mw_node(&mw, "Add", "x", "g", NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Add' of (N, 1, 5, 5) "
                  "('x') and (N, 1, 1, 1) ('g'): libnn adds tensors of one "
                  "shape, without broadcasting");
    mw_begin(&mw, 13);
    mw_node(&mw, "Flatten", "x", NULL, NULL, "f", NULL, NULL, 0);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Add", "f", "r", NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 2 'Add' of (N, 25) "
                  "('f') and (N, 1, 5, 5) ('r'): libnn joins tensors of one rank");
    for (int relu = 0; relu <= 1; relu++) {
        mw_begin(&mw, 13);
        mw_conv_weights(&mw);
        mw_pad(&mw, "x", "p", 1, INTS_RAW);
        mw_node(&mw, "Conv", "p", "W", NULL, "a", NULL, NULL, 0);
        mw_node(&mw, relu ? "Relu" : "Conv", "p", relu ? NULL : "W", NULL, "b",
                NULL, NULL, 0);
        mw_node(&mw, "Add", "a", "b", NULL, "y", NULL, NULL, 0);
        if (relu)
            check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 2 'Relu' after a "
                          "zero Pad: libnn folds padding only into a "
                          "convolution or an average pooling");
        else
            check_imports_as(mw_end(&mw, "y"),
                             "conv3x3x2p1@l0,conv3x3x2p1(input)@l1,"
                             "add(l0,l1)");
    }
    mw_begin(&mw, 13);
    mw_node(&mw, "Flatten", "x", NULL, NULL, "f", NULL, NULL, 0);
    mw_floats(&mw, "B", b_dims, 2);
    mw_floats(&mw, "C", vector, 1);
    mw_node(&mw, "MatMul", "f", "B", NULL, "m", NULL, NULL, 0);
    mw_node(&mw, "Add", "m", "C", NULL, "z", NULL, NULL, 0);
    mw_node(&mw, "Relu", "m", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Add", "z", "r", NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 2 'Add' adds a bias to "
                  "'m', which 2 nodes or graph outputs read");
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Sigmoid", "x", NULL, NULL, "unused", NULL, NULL, 0);
    mw_node(&mw, "Tanh", "r", NULL, NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Sigmoid' writes "
                  "'unused', which no node reads and is not the graph's output");
    mw_begin(&mw, 13);
    node = mw_node_begin(&mw, "Sum", "x", "x", "x", "y");
    for (int i = 3; i < 9; i++)
        nn_pb_string(&mw.w, NODE_INPUT, "x");
    nn_pb_end(&mw.w, node);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT,
                  "node 0 'Sum' has 9 inputs: libnn reads at most 8");
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "zz", NULL, NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 0 'Relu' reads 'zz', "
                  "which is neither the graph's input nor the first output of "
                  "an earlier node");
    mw_begin(&mw, 13);
    mw_node(&mw, "Relu", "x", NULL, NULL, "r", NULL, NULL, 0);
    mw_node(&mw, "Conv", "x", "r", NULL, "y", NULL, NULL, 0);
    check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 1 'Conv' also reads "
                  "'r', which the graph computes");
}

/* A node libnn wrote names its layer after '@' ("L0_Relu@skip"); other
 * node names, PyTorch's among them, name none; a libnn name that is not a
 * layer name is refused. */
static void test_layer_names_in_node_names(void **state)
{
    static const char *const names[3] = {"L0_Relu@skip", "/layer1/Relu@a", "L0_Relu@2x"};
    model_writer mw;
    size_t node;
    (void)state;
    for (int i = 0; i < 3; i++) {
        mw_begin(&mw, 13);
        node = mw_node_begin(&mw, "Relu", "x", NULL, NULL, "r");
        nn_pb_string(&mw.w, NODE_NAME, names[i]);
        nn_pb_end(&mw.w, node);
        mw_node(&mw, "Tanh", "r", NULL, NULL, "y", NULL, NULL, 0);
        if (i == 0)
            check_imports_as(mw_end(&mw, "y"), "relu@skip,tanh");
        else if (i == 1)
            check_imports_as(mw_end(&mw, "y"), "relu,tanh");
        else
            check_refused(mw_end(&mw, "y"), NN_EFORMAT, "node 0 'Relu' names "
                          "its layer '2x': '2x' is not a layer name");
    }
}

/* A TENSOR attribute "value": an int64 tensor (rank 1) of n values. */
static void mw_attr_int64s(model_writer *mw, const int64_t *v, int n)
{
    size_t attr = nn_pb_begin(&mw->w, NODE_ATTR), t;
    nn_pb_string(&mw->w, ATTR_NAME, "value");
    t = nn_pb_begin(&mw->w, 5); /* AttributeProto.t */
    nn_pb_varint(&mw->w, TENSOR_DIMS, (uint64_t)n);
    nn_pb_varint(&mw->w, TENSOR_TYPE, 7);
    for (int i = 0; i < n; i++)
        nn_pb_varint(&mw->w, 7, (uint64_t)v[i]); /* int64_data */
    nn_pb_end(&mw->w, t);
    nn_pb_varint(&mw->w, ATTR_TYPE, 4); /* TENSOR */
    nn_pb_end(&mw->w, attr);
}

/* A Constant node of an int64 tensor (rank 1) of n values. */
static void mw_constant_ints(model_writer *mw, const char *out,
                             const int64_t *v, int n)
{
    size_t node = mw_node_begin(mw, "Constant", NULL, NULL, NULL, out);
    mw_attr_int64s(mw, v, n);
    nn_pb_end(&mw->w, node);
}

/* What exporters compute around weights and settings folds into
 * initializers: an Identity copy of a weight, the Transpose of a MatMul's
 * weight, and PyTorch's int64 arithmetic for F.pad(x, (0, 0, 0, 0, 1, 1))
 * (ConstantOfShape, Concat, Reshape, a Slice with step -1, Transpose,
 * Reshape, Cast): the pads of a Pad of channels, read as a 1x1 convolution
 * of 0 and 1 weights. */
static void test_constant_subgraphs_fold(void **state)
{
    static const int64_t torch_pads[6] = {0, 0, 0, 0, 1, 1}, two[1] = {2};
    static const int64_t pairs[2] = {-1, 2}, last[1] = {-1}, zero[1] = {0};
    static const int64_t from_end[1] = {-INT64_MAX}, flat[1] = {-1};
    static const int bt_dims[2] = {4, 25};
    model_writer mw;
    nn_net *net = NULL;
    char msg[256] = "";
    size_t node;
    (void)state;
    mw_begin(&mw, 13);
    mw_conv_weights(&mw);
    mw_node(&mw, "Identity", "W", NULL, NULL, "W2", NULL, NULL, 0);
    mw_node(&mw, "Conv", "x", "W2", NULL, "y", NULL, NULL, 0);
    check_imports_as(mw_end(&mw, "y"), "conv3x3x2");
    mw_begin(&mw, 13);
    mw_floats(&mw, "Bt", bt_dims, 2); /* (out, in): libnn's layout */
    mw_node(&mw, "Transpose", "Bt", NULL, NULL, "B", "perm", (const int[2]){1, 0}, 2);
    mw_node(&mw, "Flatten", "x", NULL, NULL, "f", NULL, NULL, 0);
    mw_node(&mw, "MatMul", "f", "B", NULL, "y", NULL, NULL, 0);
    if (nn_onnx_load(mw_end(&mw, "y"), 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    for (int i = 0; i < 100; i++) /* mw_floats' values */
        assert_true(nn_net_params(net)[i] == 0.01f * (float)i - 0.1f);
    nn_net_destroy(net);
    mw_conv(&mw, 13, "c", NULL, NULL, 0);
    mw_constant_ints(&mw, "torch_pads", torch_pads, 6);
    mw_constant_ints(&mw, "two", two, 1);
    node = mw_node_begin(&mw, "ConstantOfShape", "two", NULL, NULL, "zeros");
    mw_attr_int64s(&mw, zero, 1);
    nn_pb_end(&mw.w, node);
    node = mw_node_begin(&mw, "Concat", "torch_pads", "zeros", NULL, "eight");
    mw_attr_int(&mw, "axis", 0);
    nn_pb_end(&mw.w, node);
    mw_constant_ints(&mw, "pairs", pairs, 2);
    mw_node(&mw, "Reshape", "eight", "pairs", NULL, "by_axis", NULL, NULL, 0);
    mw_constant_ints(&mw, "last", last, 1);
    mw_constant_ints(&mw, "from_end", from_end, 1);
    mw_constant_ints(&mw, "zero", zero, 1);
    node = mw_node_begin(&mw, "Slice", "by_axis", "last", "from_end", "reversed");
    nn_pb_string(&mw.w, NODE_INPUT, "zero");
    nn_pb_string(&mw.w, NODE_INPUT, "last");
    nn_pb_end(&mw.w, node);
    mw_node(&mw, "Transpose", "reversed", NULL, NULL, "begins_ends", "perm",
            (const int[2]){1, 0}, 2);
    mw_constant_ints(&mw, "flat", flat, 1);
    mw_node(&mw, "Reshape", "begins_ends", "flat", NULL, "onnx_pads", NULL, NULL, 0);
    mw_node_int(&mw, "Cast", "onnx_pads", "pads", "to", 7);
    mw_node(&mw, "Pad", "c", "pads", NULL, "p", NULL, NULL, 0);
    mw_node(&mw, "Relu", "p", NULL, NULL, "y", NULL, NULL, 0);
    if (nn_onnx_load(mw_end(&mw, "y"), 2, 1, &net, msg, sizeof msg) != NN_OK)
        fail_msg("%s", msg);
    assert_nn_ok(nn_net_spec(net, msg, sizeof msg));
    assert_string_equal(msg, "conv3x3x2,conv1x1x4,relu");
    {
        const float *w = nn_net_params(net) + 18 + 2; /* after conv 1 */
        for (int o = 0; o < 4; o++)
            for (int c = 0; c < 2; c++)
                assert_true(w[o * 2 + c] == (o == c + 1 ? 1.0f : 0.0f));
    }
    print_message("  Identity, Transpose and F.pad's pads folded: %s\n", msg);
    nn_net_destroy(net);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_round_trips),
        cmocka_unit_test(test_softmax_export_imports_the_logits),
        cmocka_unit_test(test_pytorch_export_imports),
        cmocka_unit_test(test_unsupported_graphs_are_refused),
        cmocka_unit_test(test_truncated_and_corrupt_files),
        cmocka_unit_test(test_regression_type_not_a_message),
        cmocka_unit_test(test_float_data_in_every_encoding),
        cmocka_unit_test(test_pads_in_every_encoding_and_in_a_row),
        cmocka_unit_test(test_graphs_that_break_onnx_rules_are_refused),
        cmocka_unit_test(test_a_bias_along_the_batch_is_refused),
        cmocka_unit_test(test_gemm_alpha_beta_and_one_bias_value),
        cmocka_unit_test(test_a_final_softmax_over_another_axis_is_refused),
        cmocka_unit_test(test_auto_pad_and_flatten_axis),
        cmocka_unit_test(test_opset6_is_test_and_broadcast),
        cmocka_unit_test(test_pad_axes_old_opsets_and_outputs),
        cmocka_unit_test(test_regression_a_large_input_is_checked_before_building),
        cmocka_unit_test(test_every_position_of_asymmetric_pads_is_refused),
        cmocka_unit_test(test_graph_nets_round_trip),
        cmocka_unit_test(test_a_residual_connection_imports),
        cmocka_unit_test(test_adds_and_concats_import),
        cmocka_unit_test(test_a_mean_over_height_and_width_imports),
        cmocka_unit_test(test_a_zero_padded_shortcut_imports),
        cmocka_unit_test(test_graphs_libnn_cannot_represent_are_refused),
        cmocka_unit_test(test_layer_names_in_node_names),
        cmocka_unit_test(test_constant_subgraphs_fold),
        cmocka_unit_test(test_pooling_attributes_import),
        cmocka_unit_test(test_batchnorm_epsilon_imports),
    };
    return TU_RUN_IN_DIR(tests, dir);
}
