/* ONNX inside the library: the graph writer and reader around the layers
 * (src/io/onnx_write.c, onnx_read.c), and what each kind's export and
 * import in src/io/onnx_layers.c work with. */
#ifndef NN_IO_ONNX_H
#define NN_IO_ONNX_H

#include <stddef.h>
#include <stdint.h>

#include "io/protobuf.h"
#include "layers/layer.h"
#include "nn.h"

/* The fields of onnx/onnx.proto's ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto and type messages that the
 * writer uses. */
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

/* ------------------------------------------------------------- export */

/* The graph being written: nodes and initializers go into `graph`; `rank`
 * is the rank of the tensor the layer reads first (4: NCHW, 2: after a
 * dense layer), which a kind sets to its output's when it changes it. */
typedef struct nn_onnx_graph {
    nn_pb_writer *graph;
    int layer;             /* index of the layer being written */
    int rank;
    char name[64];         /* scratch for nn_onnx_name */
    /* Every tensor the layer reads, by name and rank: in[0] is
     * export_nodes' `in`; a join (add, concat) reads them all. */
    int inputs;
    const char *in[NN_MAX_INPUTS];
    int in_rank[NN_MAX_INPUTS];
    /* The layer's output and its name (NULL or "" when unnamed): the node
     * writing `out` is called "L<layer>_<op>@<label>", which the reader
     * gives back to the layer. */
    const char *out, *label;
} nn_onnx_graph;

/* Ends the ModelProto in w (the graph written): the opset and libnn's
 * input normalisation (mean, std per channel) as metadata; writes it to
 * path atomically and frees w. NN_ENOMEM when it grew past 2 GiB. */
nn_status nn_onnx_model_end(nn_pb_writer *w, int opset, const float mean[3],
                            const float std[3], const char *path, char *msg,
                            size_t msg_size);
/* "L<layer>_<what>": a name for the current layer's tensors and nodes (a
 * static buffer in g, valid until the next call). */
const char *nn_onnx_name(nn_onnx_graph *g, const char *what);
/* A graph input or output (field) called name: a float tensor of rank
 * dims, dims[i] < 0 being the symbolic batch "N". */
void nn_onnx_value_info(nn_pb_writer *w, int field, const char *name,
                        const int *dims, int rank);
/* Starts a node of op_type with n_inputs inputs and one output. */
size_t nn_onnx_node(nn_onnx_graph *g, const char *op_type,
                    const char *const *inputs, int n_inputs,
                    const char *output);
/* An INTS attribute of the node being written. */
void nn_onnx_attr_ints(nn_onnx_graph *g, const char *name, const int *v,
                       int n);
/* An INT attribute. */
void nn_onnx_attr_int(nn_onnx_graph *g, const char *name, int v);
/* A FLOAT attribute. */
void nn_onnx_attr_float(nn_onnx_graph *g, const char *name, float v);
/* Ends the node started at mark. */
void nn_onnx_node_end(nn_onnx_graph *g, size_t mark);
/* A float initializer `name` of the given dims. */
void nn_onnx_initializer(nn_onnx_graph *g, const char *name, const int *dims,
                         int rank, const float *values);
/* The input of a layer that needs an NCHW tensor: `in` itself at rank 4,
 * else a Reshape of it to (N, C, 1, 1) named after the layer. */
const char *nn_onnx_as_nchw(nn_onnx_graph *g, const char *in, int channels);
/* Input k of a join (g->in[k]) as an NCHW tensor: itself at rank 4, else a
 * Reshape to (N, C, 1, 1) named after the layer and k (a static buffer in
 * g, valid until the next call); g->rank is left as it was. */
const char *nn_onnx_input_nchw(nn_onnx_graph *g, int k, int channels);

/* ------------------------------------------------------------- import */

/* One attribute of a node as read. */
typedef struct {
    const char *name;  /* not NUL-terminated: name_size bytes */
    size_t name_size;
    int type;          /* AttributeProto.type: 1 FLOAT, 2 INT, 7 INTS, ... */
    float f;
    int64_t i;
    int64_t ints[8];
    int n_ints;        /* -1 when there were more than 8 */
    nn_pb_field t;     /* a TENSOR attribute's TensorProto (t.data NULL if none) */
    nn_pb_field s;     /* a STRING attribute's bytes (s.data NULL if none) */
} nn_onnx_attr;

/* A float tensor from the initializers. */
typedef struct {
    int64_t dims[8];
    int rank;
    size_t count;
    const float *values; /* (count), owned by the importer */
} nn_onnx_tensor;

/* A node as read, with its initializer inputs resolved. */
typedef struct nn_onnx_node_in {
    int index;                   /* position in the graph, from 0 */
    char op[32];                 /* op_type */
    const char *inputs[8];       /* names (NUL-terminated copies) */
    int n_inputs;
    const nn_onnx_tensor *init[8]; /* inputs[i] as an initializer, or NULL */
    const int64_t *int64s[8];    /* inputs[i] as an int64 initializer of at
                                    most 8 values (n_int64s[i]), or NULL */
    int n_int64s[8];
    nn_onnx_attr attrs[16];
    int n_attrs;
    int rank;                    /* rank of the tensor it reads first: 4
                                    (N, C, H, W) or 2 (N, F) */
    char label[NN_NAME_SIZE];    /* the layer name after '@' in a node name
                                    libnn wrote ("L7_Relu@b1"), or "" */
} nn_onnx_node_in;

/* What an importing kind fills: the layer's arguments and its parameters
 * and state in libnn's flat layout (params: weights then biases). */
typedef struct nn_onnx_layer_in {
    nn_layer_args args;
    float *params, *state; /* malloc'd by the kind (or NULL), owned after */
    size_t n_params, n_state;
    int rank_out;          /* rank of the output: 2 after a dense layer, 0
                              when the rank stays as it was */
    size_t bias_at;        /* params offset of a bias a following Add may
                              add to (MatMul + Add), or SIZE_MAX */
    int zero_pad;          /* 1: zero padding before the layer (a Pad node)
                              can be folded into args.pad (Conv,
                              AveragePool counting the padding) */
    char why[160];         /* why the node cannot be imported */
} nn_onnx_layer_in;

/* The attribute called name, or NULL. */
const nn_onnx_attr *nn_onnx_attr_find(const nn_onnx_node_in *node,
                                      const char *name);
/* An INTS attribute that must hold n equal values v (or be absent, then
 * def); 0 when it holds something else. */
int nn_onnx_same_ints(const nn_onnx_node_in *node, const char *name, int n,
                      int def, int *v);
/* A copy of t's values in a new buffer (NULL when out of memory). */
float *nn_onnx_copy(const nn_onnx_tensor *t);

/* -------------------------------------------------------------- kinds */

/* How one layer kind maps to ONNX (src/io/onnx_layers.c). A kind may have
 * several rows (one per way of reading it); its first row exports it. */
typedef struct {
    const nn_layer_kind *kind;
    /* The operators it imports, separated by spaces ("Gemm MatMul"); the
     * first is the one it exports. */
    const char *ops;
    /* Writes the layer as ONNX nodes with inference semantics, from tensor
     * `in` to tensor `out`, with its initializers. */
    void (*export_nodes)(const nn_layer *layer, nn_onnx_graph *g,
                         const char *in, const char *out);
    /* Reads one node of those operators into out; 0 with out->why set
     * when libnn cannot represent it. */
    int (*import_node)(const nn_onnx_node_in *node, nn_onnx_layer_in *out);
} nn_onnx_kind;

/* The ONNX mapping of kind, or NULL when ONNX files cannot hold it. */
const nn_onnx_kind *nn_onnx_kind_of(const nn_layer_kind *kind);
/* The mapping that imports operator op, or NULL. */
const nn_onnx_kind *nn_onnx_kind_for_op(const char *op);

#endif /* NN_IO_ONNX_H */
