/* libFuzzer target: nn_onnx_load on the input as an ONNX file. A file that
 * loads must run a forward pass, export to ONNX, and load again to the same
 * architecture, parameters and state, bit for bit. The reader is the same
 * for any input: every length and count is checked against the file before
 * it is used, and the net it builds is bounded by the file (its weights
 * are in it) and by the loader's limits on shapes.
 *
 * Mutations are structure-aware (pb_mutate.h): the input is read as a
 * protobuf tree and changed as one, so most mutants are well-formed ONNX
 * files with unusual contents (boundary values, repeated or missing nodes
 * and attributes, other opsets and attribute types, packed runs written
 * unpacked, raw_data as float_data, names that collide or dangle). One
 * mutation in five, and every input that is not protobuf, goes through
 * libFuzzer's byte mutator instead. */
#include "fuzz_util.h"
#include "pb_mutate.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_net *net = NULL, *again = NULL;
    char msg[256], path[128];
    const char *file = fuzz_file(0, data, size, 0), *dir = fuzz_temp_dir();
    nn_status st;
    FUZZ_CHECK(file != NULL && dir != NULL);
    st = nn_onnx_load(file, 1, 1, &net, msg, sizeof msg);
    FUZZ_CHECK(strlen(msg) < sizeof msg);
    FUZZ_CHECK((st == NN_OK) == (net != NULL));
    FUZZ_CHECK(st == NN_OK || msg[0] != '\0');
    if (st != NN_OK)
        return 0;
    FUZZ_CHECK(nn_net_forward(net, 1) == NN_OK);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    FUZZ_CHECK(nn_onnx_save(net, path, 0, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(nn_onnx_load(path, 1, 1, &again, msg, sizeof msg) == NN_OK);
    FUZZ_CHECK(fuzz_same_net(net, again));
    nn_net_destroy(again);
    nn_net_destroy(net);
    return 0;
}

#define COUNT(a) (int)(sizeof(a) / sizeof *(a))

static const int64_t opsets[] = {1, 5, 6, 7, 9, 11, 12, 13, 18, 21, 22, 99};
static const int64_t ir_versions[] = {0, 1, 3, 7, 8, 9, 10, 11, 99};
/* AttributeProto.AttributeType: UNDEFINED .. TYPE_PROTOS. */
static const int64_t attribute_types[] = {0, 1, 2, 3, 4, 5, 6, 7,
                                          8, 9, 10, 11, 12, 13, 14, 99};
/* TensorProto.DataType: UNDEFINED, FLOAT, UINT8, INT32, INT64, FLOAT16,
 * DOUBLE, BFLOAT16, and one past the last. */
static const int64_t data_types[] = {0, 1, 2, 6, 7, 10, 11, 16, 99};
static const int64_t dims[] = {0, 1, 2, 3, 4, 28, 32, 1 << 16, -1};

/* Varints worth setting, by their path of field numbers from ModelProto. */
static const pb_varint_hint onnx_varints[] = {
    /* opset_import.version */
    {.path = {8, 2}, .depth = 2, .values = opsets, .n_values = COUNT(opsets)},
    /* ir_version */
    {.path = {1}, .depth = 1, .values = ir_versions,
     .n_values = COUNT(ir_versions)},
    /* graph.node.attribute.type */
    {.path = {7, 1, 5, 20}, .depth = 4, .values = attribute_types,
     .n_values = COUNT(attribute_types)},
    /* graph.initializer.data_type */
    {.path = {7, 5, 2}, .depth = 3, .values = data_types,
     .n_values = COUNT(data_types)},
    /* graph.node.attribute.t.data_type (Constant) */
    {.path = {7, 1, 5, 5, 2}, .depth = 5, .values = data_types,
     .n_values = COUNT(data_types)},
    /* graph.initializer.dims */
    {.path = {7, 5, 1}, .depth = 3, .values = dims, .n_values = COUNT(dims)},
    /* graph.input.type.tensor_type.shape.dim.dim_value */
    {.path = {7, 11, 2, 1, 2, 1, 1}, .depth = 7, .values = dims,
     .n_values = COUNT(dims)},
};

/* TensorProto: raw_data is field 9, float_data field 4. */
static const pb_hints onnx_hints = {
    .varints = onnx_varints,
    .n_varints = COUNT(onnx_varints),
    .raw_field = 9,
    .float_field = 4,
};

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    size_t mutated = seed % 5 ? pb_mutate(data, size, max_size, seed / 5,
                                          &onnx_hints) : 0;
    return mutated ? mutated : LLVMFuzzerMutate(data, size, max_size);
}

size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1,
                                 const uint8_t *data2, size_t size2,
                                 uint8_t *out, size_t max_out_size,
                                 unsigned int seed)
{
    return pb_cross_over(data1, size1, data2, size2, out, max_out_size, seed);
}
