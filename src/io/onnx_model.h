/* An ONNX file as the reader holds it: src/io/onnx_read.c parses the
 * protobuf into it, src/io/onnx_fold.c folds constants in it, and
 * src/io/onnx_import.c (nn_onnx_load) turns its graph into a net. */
#ifndef NN_IO_ONNX_MODEL_H
#define NN_IO_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "io/onnx.h"

#define NN_ONNX_MAX_NODES 4096
#define NN_ONNX_MAX_INITIALIZERS 4096
/* Bytes of a name, its NUL included. */
#define NN_ONNX_MAX_NAME 128
/* Graph outputs kept (all are counted). */
#define NN_ONNX_MAX_OUTPUTS 8
/* Inputs and outputs of a node the reader keeps. */
#define NN_ONNX_NODE_NAMES 8

/* An initializer (or a Constant node's tensor): float values are copied out
 * (the file's bytes need not be aligned); int64 ones keep at most 8. */
typedef struct {
    char name[NN_ONNX_MAX_NAME];
    nn_onnx_tensor t;
    int is_float;
    float *owned;
    int64_t ints[8]; /* an int64 tensor's values, when it has at most 8 */
    int n_ints;      /* how many of them; -1 when not kept (or not int64) */
} nn_onnx_init;

/* What the reader collects from the file. */
typedef struct {
    nn_onnx_init *inits;                 /* initializers, then Constants */
    int n_inits;
    nn_pb_field nodes[NN_ONNX_MAX_NODES];
    int n_nodes;
    nn_pb_field inputs[64];
    int n_inputs;
    char outputs[NN_ONNX_MAX_OUTPUTS][NN_ONNX_MAX_NAME]; /* graph.output */
    int n_outputs;                       /* all of them, even past 8 */
    int64_t opset;                       /* the default domain's, or -1 */
    float mean[3], std[3];
    int has_normalization;
} nn_onnx_model;

/* A node as read: what the kinds see, its outputs, and its names. */
typedef struct {
    nn_onnx_node_in in;                  /* in.inputs point into names */
    char names[NN_ONNX_NODE_NAMES][NN_ONNX_MAX_NAME];
    char outputs[NN_ONNX_NODE_NAMES][NN_ONNX_MAX_NAME]; /* "": left out */
    int n_outputs;                       /* all of them, even past 8 */
} nn_onnx_node_read;

/* A ModelProto of size bytes into *m (zeroed by the caller): its graph's
 * nodes, initializers, inputs and outputs, its opset and metadata; 0 with
 * why set when it is malformed or beyond the reader's limits. */
int nn_onnx_model_parse(const unsigned char *data, size_t size,
                        nn_onnx_model *m, char *why, size_t why_size);
/* Frees what m holds (not m). */
void nn_onnx_model_free(nn_onnx_model *m);
/* The initializer (or Constant) called name, or NULL. */
const nn_onnx_init *nn_onnx_find_init(const nn_onnx_model *m, const char *name);
/* The graph input that is not an initializer: its name, (C, H, W) and rank
 * (4 or 2); 0 with why set when there is none of that form. */
int nn_onnx_graph_input(const nn_onnx_model *m, char *name, int shape[3],
                        int *rank, char *why, size_t why_size);
/* Node `index` into node, with its initializer inputs resolved; 0 with why
 * set when it is malformed or too large. */
int nn_onnx_read_node(const nn_onnx_model *m, int index,
                      nn_onnx_node_read *node, char *why, size_t why_size);
/* A TensorProto (msg) into *out, named `name` (NULL: its own name); 0 with
 * why set when it is malformed or of a type libnn does not read. */
int nn_onnx_read_tensor(const nn_pb_field *msg, nn_onnx_init *out,
                        const char *name, char *why, size_t why_size);
/* A Constant node: its tensor becomes one more initializer, named after
 * its output; 0 with why set when it holds none. */
int nn_onnx_add_constant(nn_onnx_model *m, const nn_onnx_node_read *node,
                         char *why, size_t why_size);
/* A node whose inputs are all initializers, of an operator that moves or
 * builds values (Identity, Transpose, and for int64: Slice, Reshape,
 * Concat, ConstantOfShape, Cast), as one more initializer named after its
 * output (src/io/onnx_fold.c): 1 when it was, 0 when it is not such a
 * node. */
int nn_onnx_fold(nn_onnx_model *m, const nn_onnx_node_read *node);
/* How many node inputs and graph outputs name `name`. */
int nn_onnx_readers(const nn_onnx_model *m, const char *name);

#endif /* NN_IO_ONNX_MODEL_H */
