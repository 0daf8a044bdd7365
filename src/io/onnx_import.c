/* ONNX import, the graph's side, and nn_onnx_load: an nn_onnx_model
 * (src/io/onnx_read.c) into a net. Every name a node reads is found among
 * the values written before it: the graph input (the net's input) and the
 * first output of each earlier node, each standing for a tensor of the
 * net (0 the input, j + 1 layer j's output). A node becomes a layer of the kind whose ONNX
 * mapping names its operator (src/io/onnx_layers.c): a join (Add, Sum,
 * Concat) reads the tensors of all its inputs, any other node the tensor of
 * its first and initializers. The other nodes are no layers in libnn:
 *   - Identity, Flatten, Reshape and a final Softmax name the tensor they
 *     read (an alias: any number of nodes may read it);
 *   - a zero Pad of height and width is left on its output, and every node
 *     reading that output folds it (a Conv, or an AveragePool counting it;
 *     any other reader is refused);
 *   - a Slice keeping every s-th row and column is left on its output the
 *     same way, and applied as a 1x1 max pooling of stride s by the first
 *     node other than a Slice that reads it;
 *   - an Add of a constant folds into the bias of the MatMul (or Gemm)
 *     before it when it is the only reader of that MatMul's output;
 *   - a zero Pad of channels becomes the 1x1 convolution it equals.
 * Layers are shaped as they are added, so a refusal names the node and the
 * shapes. A value that nothing reads and that is not the graph's output is
 * refused (ONNX would let a runtime skip it; libnn nets have no unused
 * branches). */
#include "io/onnx_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/model_file.h"
#include "net/net_internal.h"

/* Most zero padding a chain of Pads may add, and most subsampling a chain
 * of Slices. */
#define MAX_PAD (1 << 10)
#define MAX_STEP (1 << 10)
/* Most floats of the 1x1 convolution a Pad of channels becomes. */
#define MAX_EMBED ((size_t)1 << 24)

/* A layer read from a node, with its weights until the net is built. */
typedef struct {
    nn_onnx_layer_in in;
    int node; /* the node it was read from */
} imported;

/* What a value's name stands for in the net being built. */
typedef struct {
    char name[NN_ONNX_MAX_NAME];
    int node;       /* the node that wrote it; -1 for the graph input */
    char op[32];    /* that node's operator */
    int tensor;     /* 0 the net's input, j + 1 layer j's output */
    int rank;       /* 4: (N, C, H, W); 2: (N, F) */
    int pad;        /* zero padding of height and width a Pad left for its
                       readers to fold (0: none) */
    int pad_node;   /* that Pad */
    int step[2];    /* every step[0]-th row and step[1]-th column, which a
                       Slice left for its readers (1: all) */
    int step_node;  /* that Slice */
    int direct;     /* 1: its node wrote the tensor (not an alias of it) */
    int reads;      /* node inputs and graph outputs that read it */
} value;

/* The import under way. */
typedef struct {
    nn_onnx_model *m;
    nn_net *net;
    imported *layers; /* (max_layers): layers[j] is the net's layer j */
    int n_layers, max_layers;
    value *values;    /* (max_values): the graph input, then node outputs */
    int n_values, max_values;
    char (*written)[NN_ONNX_MAX_NAME]; /* every name written so far */
    int n_written;
    char *why;
    size_t why_size;
} importer;

/* Sets the reason for a refusal; returns 0. */
static int fail(importer *imp, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int fail(importer *imp, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(imp->why, imp->why_size, format, ap);
    va_end(ap);
    return 0;
}

static value *find_value(importer *imp, const char *name)
{
    for (int i = imp->n_values - 1; i >= 0; i--)
        if (!strcmp(imp->values[i].name, name))
            return &imp->values[i];
    return NULL;
}

/* A new value `name` written by node: what `like` stands for (an alias),
 * or tensor `tensor` of rank `rank` written by the node itself (like
 * NULL). */
static value *new_value(importer *imp, const nn_onnx_node_in *node,
                        const char *name, const value *like, int tensor,
                        int rank)
{
    value *v = &imp->values[imp->n_values++];
    if (like)
        *v = *like;
    else
        *v = (value){.tensor = tensor, .rank = rank, .step = {1, 1},
                     .direct = 1};
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(v->op, sizeof v->op, "%s", node->op);
    v->node = node->index;
    v->direct = like == NULL;
    v->reads = 0;
    return v;
}

/* The value input k of node reads, counted as read; NULL with why set when
 * there is none: an initializer, or a name no earlier node writes. */
static value *input_value(importer *imp, const nn_onnx_node_in *node, int k)
{
    value *v = k < node->n_inputs ? find_value(imp, node->inputs[k]) : NULL;
    if (v) {
        v->reads++;
        return v;
    }
    if (k >= node->n_inputs || !node->inputs[k][0])
        fail(imp, "node %d '%s' reads no tensor", node->index, node->op);
    else if (nn_onnx_find_init(imp->m, node->inputs[k]))
        fail(imp, "node %d '%s' reads the initializer '%.40s' where libnn "
             "takes a tensor the graph computes", node->index, node->op,
             node->inputs[k]);
    else
        fail(imp, "node %d '%s' reads '%.40s', which is neither the graph's "
             "input nor the first output of an earlier node", node->index,
             node->op, node->inputs[k]);
    return NULL;
}

/* "(N, 8, 4, 4)" or "(N, 128)": v's shape as ONNX has it. */
static void describe(const importer *imp, const value *v, char *buf,
                     size_t size)
{
    int s[3];
    nn_net_tensor_shape(imp->net, v->tensor, s);
    if (v->rank == 2)
        snprintf(buf, size, "(N, %ld)", (long)s[0] * s[1] * s[2]);
    else
        snprintf(buf, size, "(N, %d, %d, %d)", s[0], s[1], s[2]);
}

/* The next layer to fill, with its kind's default arguments. */
static imported *next_layer(importer *imp, const nn_onnx_kind *onnx,
                            int node)
{
    imported *l = &imp->layers[imp->n_layers++];
    memset(l, 0, sizeof *l);
    l->in.args = onnx->kind->spec.defaults;
    l->in.bias_at = SIZE_MAX;
    l->node = node;
    return l;
}

/* Appends the last layer of imp->layers, of kind, reading tensors
 * reads[0..count), to the net and shapes it; it takes the node's label as
 * its name. 0 with why set (naming node `index`, operator `op`) when it
 * does not fit. */
static int add_layer(importer *imp, const nn_onnx_node_in *node,
                     const char *op, const nn_layer_kind *kind,
                     const int *reads, int count)
{
    const imported *l = &imp->layers[imp->n_layers - 1];
    nn_layer *layer;
    char shapes[160] = "";
    size_t used = 0;
    if (nn_net_add_reading(imp->net, kind, &l->in.args, reads, count) != NN_OK)
        return fail(imp, "node %d '%s': %s", node->index, op,
                    nn_net_why(imp->net));
    layer = imp->net->layers[imp->net->count - 1];
    for (int k = 0; k < count; k++)
        nn_net_tensor_shape(imp->net, reads[k], layer->in_shape[k]);
    layer->in_c = layer->in_shape[0][0];
    layer->in_h = layer->in_shape[0][1];
    layer->in_w = layer->in_shape[0][2];
    if (layer->kind->ops.reshape(layer) != NN_OK) {
        for (int k = 0; k < count && used < sizeof shapes; k++) {
            int len = snprintf(shapes + used, sizeof shapes - used, "%s%dx%dx%d",
                               k ? " and " : "", layer->in_shape[k][0],
                               layer->in_shape[k][1], layer->in_shape[k][2]);
            used += len > 0 ? (size_t)len : 0;
        }
        return fail(imp, "node %d '%s' cannot take %s %s (channels x height "
                    "x width)", node->index, op,
                    count > 1 ? "its inputs" : "its input", shapes);
    }
    if (node->label[0] &&
        nn_net_name_layer(imp->net, imp->net->count - 1, node->label) != NN_OK)
        return fail(imp, "node %d '%s' names its layer '%s': %s", node->index,
                    op, node->label, nn_net_why(imp->net));
    return 1;
}

/* Node read through the mapping `onnx` into a new layer reading tensors
 * reads[0..count), `first` the value it reads first (whose pending zero
 * padding it folds). Messages name the node with operator `op`. Returns
 * the rank of the layer's output; 0 with why set. */
static int import_layer(importer *imp, nn_onnx_node_in *node, const char *op,
                        const nn_onnx_kind *onnx, const int *reads, int count,
                        const value *first)
{
    imported *l = next_layer(imp, onnx, node->index);
    node->rank = first->rank;
    if (!onnx->import_node(node, &l->in))
        return fail(imp, "node %d '%s': %s", node->index, op,
                    l->in.why[0] ? l->in.why : "out of memory");
    if (first->pad) {
        if (!l->in.zero_pad)
            return fail(imp, "node %d '%s' after a zero Pad: libnn folds "
                        "padding only into a convolution or an average "
                        "pooling that counts it", node->index, op);
        l->in.args.pad += first->pad;
    }
    if (!add_layer(imp, node, op, onnx->kind, reads, count))
        return 0;
    return l->in.rank_out ? l->in.rank_out : first->rank;
}

/* The value `output` of node, standing for the last layer's output of
 * rank `rank` (0: the layer was refused); 0 when rank is. */
static int layer_value(importer *imp, const nn_onnx_node_in *node,
                       const char *output, int rank)
{
    if (rank)
        new_value(imp, node, output, NULL, imp->net->count, rank);
    return rank != 0;
}

/* An INTS attribute of two values, for a node made up here. */
static nn_onnx_attr two_ints(const char *name, int64_t a, int64_t b)
{
    nn_onnx_attr at;
    memset(&at, 0, sizeof at);
    at.name = name;
    at.name_size = strlen(name);
    at.type = ATTR_INTS_TYPE;
    at.ints[0] = a;
    at.ints[1] = b;
    at.n_ints = 2;
    return at;
}

/* Applies the subsampling a Slice left on v, for a reader other than a
 * Slice: every s-th row and column is a 1x1 max pooling of stride s, read
 * as the MaxPool node it equals. v then stands for its output. */
static int apply_steps(importer *imp, value *v)
{
    nn_onnx_node_in pool;
    int reads = v->tensor;
    if (v->step[0] == 1 && v->step[1] == 1)
        return 1;
    if (v->step[0] != v->step[1])
        return fail(imp, "node %d 'Slice' keeps one row in %d and one "
                    "column in %d: libnn subsamples height and width alike "
                    "(a 1x1 max pooling with a stride)", v->step_node,
                    v->step[0], v->step[1]);
    memset(&pool, 0, sizeof pool);
    pool.index = v->step_node;
    snprintf(pool.op, sizeof pool.op, "MaxPool");
    pool.attrs[0] = two_ints("kernel_shape", 1, 1);
    pool.attrs[1] = two_ints("strides", v->step[0], v->step[0]);
    pool.n_attrs = 2;
    if (!import_layer(imp, &pool, "Slice", nn_onnx_kind_for_op("MaxPool"),
                      &reads, 1, v))
        return 0;
    v->tensor = imp->net->count; /* v now stands for the pooling's output */
    v->step[0] = v->step[1] = 1;
    return 1;
}

/* A Slice of height and width that keeps every s-th row or column from the
 * first to the last (x[:, :, ::s, ::s], as PyTorch writes the shortcut of
 * a residual net that pads channels with zeros; one Slice per axis). Left
 * on its output for its readers; Slices in a row multiply. */
static int slice_node(importer *imp, const nn_onnx_node_read *nr)
{
    const nn_onnx_node_in *node = &nr->in;
    const int64_t *axes = NULL, *steps = NULL;
    value *v = input_value(imp, node, 0), *out;
    int n = 0, step[2], seen = 0, s[3];
    if (!v)
        return 0;
    if (imp->m->opset < 10)
        return fail(imp, "node %d 'Slice': before opset 10 its bounds are "
                    "attributes, which libnn does not read", node->index);
    if (v->pad)
        return fail(imp, "node %d 'Slice' after a zero Pad: libnn folds "
                    "padding only into a convolution or an average pooling "
                    "that counts it", node->index);
    if (node->n_inputs >= 3 && node->int64s[1] && node->int64s[2] &&
        node->n_int64s[1] == node->n_int64s[2])
        n = node->n_int64s[1];
    if (node->n_inputs > 3 && node->inputs[3][0] &&
        (!(axes = node->int64s[3]) || node->n_int64s[3] != n))
        n = 0;
    if (node->n_inputs > 4 && node->inputs[4][0] &&
        (!(steps = node->int64s[4]) || node->n_int64s[4] != n))
        n = 0;
    nn_net_tensor_shape(imp->net, v->tensor, s);
    step[0] = v->step[0];
    step[1] = v->step[1];
    for (int i = 0; i < n; i++) {
        int64_t axis = axes ? axes[i] : i, by = steps ? steps[i] : 1;
        int side;
        axis += axis < 0 ? v->rank : 0;
        if (v->rank != 4 || (axis != 2 && axis != 3) || (seen & (1 << axis)))
            n = 0;
        else {
            seen |= 1 << axis;
            side = (s[axis - 1] + step[axis - 2] - 1) / step[axis - 2];
            if (node->int64s[1][i] != 0 || node->int64s[2][i] < side ||
                by < 1 || by > MAX_STEP || step[axis - 2] * by > MAX_STEP)
                n = 0;
            else
                step[axis - 2] *= (int)by;
        }
    }
    if (n == 0)
        return fail(imp, "node %d 'Slice': libnn reads a Slice of height and "
                    "width from the first row and column to the last, every "
                    "s-th (x[:, :, ::s, ::s], s up to %d)", node->index,
                    MAX_STEP);
    out = new_value(imp, node, nr->outputs[0], v, 0, 0);
    out->step[0] = step[0];
    out->step[1] = step[1];
    out->step_node = node->index;
    return 1;
}

/* A zero Pad of channels alone, `before` and `after` them: the 1x1 Conv
 * it equals (output channel before + c is input channel c, the others
 * zero), exact for finite values since each output adds one value and
 * zeros. */
static int pad_channels(importer *imp, const nn_onnx_node_read *nr, value *v,
                        int before, int after)
{
    nn_onnx_node_in conv;
    nn_onnx_tensor w;
    int s[3], reads = v->tensor, ok;
    size_t in, out;
    float *ones;
    nn_net_tensor_shape(imp->net, v->tensor, s);
    in = (size_t)s[0];
    out = in + (size_t)before + (size_t)after;
    if (out * in > MAX_EMBED)
        return fail(imp, "node %d 'Pad' of channels %zu to %zu: libnn "
                    "makes it a 1x1 convolution of at most %zu weights",
                    nr->in.index, in, out, MAX_EMBED);
    ones = calloc(out * in, sizeof *ones);
    if (!ones)
        return fail(imp, "out of memory");
    for (size_t c = 0; c < in; c++)
        ones[(before + c) * in + c] = 1.0f; /* W (out, in, 1, 1) */
    memset(&w, 0, sizeof w);
    w.dims[0] = (int64_t)out;
    w.dims[1] = (int64_t)in;
    w.dims[2] = w.dims[3] = 1;
    w.rank = 4;
    w.count = out * in;
    w.values = ones;
    memset(&conv, 0, sizeof conv);
    conv.index = nr->in.index;
    snprintf(conv.op, sizeof conv.op, "Conv");
    conv.inputs[0] = conv.inputs[1] = "";
    conv.n_inputs = 2;
    conv.init[1] = &w;
    ok = layer_value(imp, &nr->in, nr->outputs[0],
                     import_layer(imp, &conv, "Pad",
                                  nn_onnx_kind_for_op("Conv"), &reads, 1, v));
    free(ones);
    return ok;
}

/* Pad (opset 11 on: pads an int64 input over (N, C, H, W), mode constant,
 * value 0): of height and width alike, left on its output for its readers
 * (Pads in a row add up); of channels alone, a 1x1 convolution. */
static int pad_node(importer *imp, const nn_onnx_node_read *nr)
{
    const nn_onnx_node_in *node = &nr->in;
    const nn_onnx_attr *mode = nn_onnx_attr_find(node, "mode");
    const nn_onnx_tensor *fill = node->n_inputs > 2 ? node->init[2] : NULL;
    const int64_t *p = node->n_inputs > 1 && node->n_int64s[1] == 8
                           ? node->int64s[1] : NULL;
    value *v, *out;
    int zeros;
    if (imp->m->opset < 11 || (node->n_inputs > 3 && node->inputs[3][0]))
        return fail(imp, "node %d 'Pad': %s", node->index, imp->m->opset < 11
                    ? "before opset 11 its pads are an attribute, which libnn "
                      "does not read"
                    : "libnn reads pads over (N, C, H, W), not over the axes "
                      "of an `axes` input");
    if (!(v = input_value(imp, node, 0)) || !apply_steps(imp, v))
        return 0;
    zeros = (!mode || !mode->s.data ||
             (mode->s.size == 8 && !memcmp(mode->s.data, "constant", 8))) &&
            (!fill || (fill->count == 1 && fill->values[0] == 0.0f)) &&
            (node->n_inputs < 3 || !node->inputs[2][0] || fill);
    /* (begin, end) of N, C, H, W: [bN, bC, bH, bW, eN, eC, eH, eW] */
    if (zeros && p && v->rank == 4 && !p[0] && !p[1] && !p[4] && !p[5] &&
        p[2] == p[3] && p[2] == p[6] && p[2] == p[7] && p[2] >= 0 &&
        v->pad + p[2] <= MAX_PAD) {
        out = new_value(imp, node, nr->outputs[0], v, 0, 0);
        out->pad = v->pad + (int)p[2];
        out->pad_node = node->index;
        return 1;
    }
    if (zeros && p && v->rank == 4 && !v->pad && !p[0] && !p[4] && !p[2] &&
        !p[3] && !p[6] && !p[7] && p[1] >= 0 && p[5] >= 0 &&
        p[1] <= (1 << 20) && p[5] <= (1 << 20) && (p[1] || p[5]))
        return pad_channels(imp, nr, v, (int)p[1], (int)p[5]);
    return fail(imp, "node %d 'Pad': libnn pads height and width alike with "
                "zeros, before a convolution or an average pooling, or "
                "channels with zeros", node->index);
}

/* An Add of a constant b: the bias of the MatMul (or Gemm) whose output it
 * adds to, folded into that layer's bias when b is one value per output
 * ((F) or (1, F); (F, 1) would broadcast along the batch) and the Add is
 * the one reader of that output (else the bias would change what the other
 * readers see). */
static int add_bias(importer *imp, const nn_onnx_node_read *nr)
{
    const nn_onnx_node_in *node = &nr->in;
    int k = node->init[0] ? 0 : 1, readers;
    const nn_onnx_tensor *b = node->init[k];
    imported *l = NULL;
    value *v;
    if (!(v = input_value(imp, node, 1 - k)))
        return 0;
    if (v->direct && v->tensor > 0)
        l = &imp->layers[v->tensor - 1];
    if (!l || l->in.bias_at == SIZE_MAX || l->in.bias_at + b->count != l->in.n_params ||
        !(b->rank == 0 || (size_t)b->dims[b->rank - 1] == b->count))
        return fail(imp, "node %d 'Add': not the bias of a MatMul before it",
                    node->index);
    if ((readers = nn_onnx_readers(imp->m, v->name)) != 1)
        return fail(imp, "node %d 'Add' adds a bias to '%.40s', which %d "
                    "nodes or graph outputs read: libnn folds it into the "
                    "MatMul's bias only when the Add is its one reader",
                    node->index, v->name, readers);
    for (size_t i = 0; i < b->count; i++)
        l->in.params[l->in.bias_at + i] += b->values[i];
    l->in.bias_at = SIZE_MAX; /* one bias only */
    new_value(imp, node, nr->outputs[0], v, 0, 0);
    return 1;
}

/* An alias of input 0 that leaves no padding or subsampling behind, of
 * rank `rank` (0: its input's). */
static int alias_node(importer *imp, const nn_onnx_node_read *nr, int rank)
{
    value *v = input_value(imp, &nr->in, 0), *out;
    if (!v || !apply_steps(imp, v))
        return 0;
    if (v->pad)
        return fail(imp, "node %d '%s' after a zero Pad: libnn folds padding "
                    "only into a convolution or an average pooling that "
                    "counts it", nr->in.index, nr->in.op);
    out = new_value(imp, &nr->in, nr->outputs[0], v, 0, 0);
    out->rank = rank ? rank : v->rank;
    return 1;
}

/* The rank of input 0 (4 when it is unknown: the reader refuses). */
static int input_rank(importer *imp, const nn_onnx_node_in *node)
{
    const value *v = node->n_inputs ? find_value(imp, node->inputs[0]) : NULL;
    return v ? v->rank : 4;
}

/* Nodes that are no layers in libnn: 1 when node was one (and read), 0 when
 * it is not, -1 when it is one libnn cannot take (why set). */
static int structural(importer *imp, const nn_onnx_node_read *nr, int last)
{
    const nn_onnx_node_in *node = &nr->in;
    const nn_onnx_init *shape;
    int rank = input_rank(imp, node);
    if (!strcmp(node->op, "Identity") ||
        ((!strcmp(node->op, "Sum") || !strcmp(node->op, "Concat")) &&
         node->n_inputs == 1))
        return input_value(imp, node, 0) &&
               new_value(imp, node, nr->outputs[0],
                         find_value(imp, node->inputs[0]), 0, 0) ? 1 : -1;
    if (!strcmp(node->op, "Pad"))
        return pad_node(imp, nr) ? 1 : -1;
    if (!strcmp(node->op, "Slice"))
        return slice_node(imp, nr) ? 1 : -1;
    if (!strcmp(node->op, "Add") && node->n_inputs == 2 &&
        (node->init[0] || node->init[1]))
        return add_bias(imp, nr) ? 1 : -1;
    if (!strcmp(node->op, "Flatten")) {
        const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
        if (axis && axis->i != 1 && axis->i != 1 - rank) { /* -3 of NCHW */
            fail(imp, "node %d 'Flatten' with axis %lld: libnn flattens "
                 "from axis 1", node->index, (long long)axis->i);
            return -1;
        }
        return alias_node(imp, nr, 2) ? 1 : -1;
    }
    if (!strcmp(node->op, "Reshape")) {
        /* to (N, features), or features to (N, C, 1, 1): both keep the
         * order of the values, so neither is a layer in libnn */
        shape = node->n_inputs == 2 ? nn_onnx_find_init(imp->m, node->inputs[1]) : NULL;
        if (shape && shape->n_ints == (int)shape->t.count &&
            (shape->t.count == 2 ||
             (shape->t.count == 4 && rank == 2 && shape->ints[2] == 1 &&
              shape->ints[3] == 1)))
            return alias_node(imp, nr, (int)shape->t.count) ? 1 : -1;
        fail(imp, "node %d 'Reshape': libnn reshapes only to (N, features) "
             "or from them to (N, C, 1, 1)", node->index);
        return -1;
    }
    if (!strcmp(node->op, "Softmax")) {
        /* over all of a sample's values, as libnn's loss: axis 1 (or -1)
         * of (N, F); of (N, C, H, W) only before opset 13, where axis 1
         * flattens to (N, C*H*W) */
        const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
        int64_t a = axis ? axis->i : imp->m->opset < 13 ? 1 : -1;
        if (last && (rank == 2 ? a == 1 || a == -1
                               : imp->m->opset < 13 && (a == 1 || a == -3)))
            return alias_node(imp, nr, 0) ? 1 : -1; /* the logits before it */
        if (last)
            fail(imp, "node %d 'Softmax' over axis %lld of a %d-D tensor: "
                 "libnn's softmax (in its loss) is over each sample's values",
                 node->index, (long long)a, rank);
        else
            fail(imp, "node %d 'Softmax' before the last node: libnn has "
                 "softmax only in its loss", node->index);
        return -1;
    }
    return 0;
}

/* A join (Add, Sum, Concat) of the tensors of every input: all of one
 * rank; an Add or Sum of one shape (libnn does not broadcast). */
static int join_node(importer *imp, nn_onnx_node_read *nr,
                     const nn_onnx_kind *onnx)
{
    nn_onnx_node_in *node = &nr->in;
    value *v[NN_ONNX_NODE_NAMES];
    int reads[NN_ONNX_NODE_NAMES];
    char a[48], b[48];
    int adds = strcmp(node->op, "Concat") != 0;
    if (node->n_inputs < 2 || (!strcmp(node->op, "Add") && node->n_inputs != 2))
        return fail(imp, "node %d '%s' has %d inputs", node->index, node->op,
                    node->n_inputs);
    for (int k = 0; k < node->n_inputs; k++) {
        if (!(v[k] = input_value(imp, node, k)) || !apply_steps(imp, v[k]))
            return 0;
        if (v[k]->pad)
            return fail(imp, "node %d '%s' after a zero Pad: libnn folds "
                        "padding only into a convolution or an average "
                        "pooling that counts it", node->index, node->op);
        reads[k] = v[k]->tensor;
    }
    for (int k = 1; k < node->n_inputs; k++) {
        int s0[3], s1[3], differ;
        nn_net_tensor_shape(imp->net, reads[0], s0);
        nn_net_tensor_shape(imp->net, reads[k], s1);
        differ = v[0]->rank == 4 ? memcmp(s0, s1, sizeof s0) != 0
                 : (long)s0[0] * s0[1] * s0[2] != (long)s1[0] * s1[1] * s1[2];
        if (v[k]->rank != v[0]->rank || (adds && differ)) {
            describe(imp, v[0], a, sizeof a);
            describe(imp, v[k], b, sizeof b);
            return fail(imp, "node %d '%s' of %s ('%.40s') and %s ('%.40s'): "
                        "libnn %s", node->index, node->op, a, node->inputs[0],
                        b, node->inputs[k], v[k]->rank != v[0]->rank
                        ? "joins tensors of one rank"
                        : "adds tensors of one shape, without broadcasting");
        }
    }
    return layer_value(imp, node, nr->outputs[0],
                       import_layer(imp, node, node->op, onnx, reads,
                                    node->n_inputs, v[0]));
}

/* Any other node: the layer of its operator's kind, reading the tensor of
 * its first input; its other inputs must be initializers (or left out). */
static int layer_node(importer *imp, nn_onnx_node_read *nr,
                      const nn_onnx_kind *onnx)
{
    nn_onnx_node_in *node = &nr->in;
    value *v = input_value(imp, node, 0);
    if (!v || !apply_steps(imp, v))
        return 0;
    for (int k = 1; k < node->n_inputs; k++)
        if (node->inputs[k][0] && !nn_onnx_find_init(imp->m, node->inputs[k]))
            return fail(imp, "node %d '%s' also reads '%.40s', which the graph "
                        "computes: libnn reads a node's weights and settings "
                        "from initializers", node->index, node->op,
                        node->inputs[k]);
    return layer_value(imp, node, nr->outputs[0],
                       import_layer(imp, node, node->op, onnx, &v->tensor, 1,
                                    v));
}

/* Opsets 6 to 8, where operators libnn reads differ from later ones:
 * BatchNormalization normalises every value apart with spatial 0 (opsets 6
 * to 8); in opset 6, BatchNormalization and Dropout compute their inference
 * form only with is_test set, Gemm adds a bias vector and Add one along the
 * last axis only with broadcast set. 0 with why set otherwise. */
static int older_opset_fits(importer *imp, const nn_onnx_node_in *node)
{
    const nn_onnx_attr *is_test = nn_onnx_attr_find(node, "is_test");
    const nn_onnx_attr *broadcast = nn_onnx_attr_find(node, "broadcast");
    const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
    const nn_onnx_attr *spatial = nn_onnx_attr_find(node, "spatial");
    int64_t opset = imp->m->opset;
    int bias = (!strcmp(node->op, "Gemm") && node->n_inputs > 2) ||
               (!strcmp(node->op, "Add") && node->n_inputs == 2 &&
                (node->init[0] || node->init[1]));
    if (opset < 9 && !strcmp(node->op, "BatchNormalization") && spatial &&
        spatial->i != 1)
        return fail(imp, "node %d 'BatchNormalization' with spatial %lld: "
                    "libnn normalises per channel", node->index,
                    (long long)spatial->i);
    if (opset >= 7)
        return 1;
    if ((!strcmp(node->op, "BatchNormalization") || !strcmp(node->op, "Dropout")) &&
        !(is_test && is_test->i))
        return fail(imp, "node %d '%s' without is_test: opset 6 computes it "
                    "as in training", node->index, node->op);
    if (bias && (!(broadcast && broadcast->i) || (axis && axis->i != 1 && axis->i != -1)))
        return fail(imp, "node %d '%s': opset 6 adds a bias along the "
                    "outputs only with broadcast 1 (and no other axis)",
                    node->index, node->op);
    return 1;
}

/* Whether name is one imp wrote; which kind of writer in *what. */
static int was_written(const importer *imp, const char *name, const char **what)
{
    for (int k = 0; k < imp->n_written; k++)
        if (!strcmp(imp->written[k], name)) {
            *what = k == 0 ? "is the graph's input" : "a node wrote already";
            return 1;
        }
    return 0;
}

/* Static single assignment, as ONNX requires, over every output of the
 * node: none was written before (by a node, an initializer or as the graph
 * input) and the node reads none of them; they join imp->written. */
static int check_ssa(importer *imp, const nn_onnx_node_read *nr)
{
    const nn_onnx_node_in *node = &nr->in;
    const char *what = "";
    if (nr->n_outputs > NN_ONNX_NODE_NAMES)
        return fail(imp, "node %d '%s' has more than %d outputs", node->index,
                    node->op, NN_ONNX_NODE_NAMES);
    for (int i = 0; i < nr->n_outputs; i++) {
        const char *name = nr->outputs[i];
        for (int k = 0; k < node->n_inputs; k++)
            if (!strcmp(node->inputs[k], name))
                return fail(imp, "node %d '%s' reads its own output '%.40s'",
                            node->index, node->op, name);
        if (nn_onnx_find_init(imp->m, name) || was_written(imp, name, &what))
            return fail(imp, "node %d '%s' writes '%.40s', which %s",
                        node->index, node->op, name,
                        nn_onnx_find_init(imp->m, name) ? "is an initializer"
                                                         : what);
        strcpy(imp->written[imp->n_written++], name);
    }
    return 1;
}

/* After the last node: the graph's one output is the last layer's, with no
 * padding left to fold; every other value is read. */
static int check_end(importer *imp)
{
    const nn_onnx_model *m = imp->m;
    value *v;
    if (m->n_outputs != 1)
        return fail(imp, "the graph has %d outputs: libnn nets have one",
                    m->n_outputs);
    if (!(v = find_value(imp, m->outputs[0])))
        return fail(imp, "the graph's output '%.40s' is no node's output",
                    m->outputs[0]);
    v->reads++;
    if (!apply_steps(imp, v))
        return 0;
    if (v->pad)
        return fail(imp, "node %d 'Pad' ends the graph: libnn folds a zero "
                    "Pad into the convolution or average pooling after it",
                    v->pad_node);
    if (v->tensor != imp->net->count) {
        const char *last = "";
        for (int i = 0; i < imp->n_values; i++)
            if (imp->values[i].direct && imp->values[i].tensor == imp->net->count)
                last = imp->values[i].name;
        return fail(imp, "the graph's output '%.40s' is not the last node's "
                    "output '%.40s': libnn returns the last node's",
                    m->outputs[0], last);
    }
    for (int i = 1; i < imp->n_values; i++)
        if (!imp->values[i].reads)
            return fail(imp, "node %d '%s' writes '%.40s', which no node reads "
                        "and is not the graph's output: a libnn net has one "
                        "output and no unused branch", imp->values[i].node,
                        imp->values[i].op, imp->values[i].name);
    return 1;
}

/* Builds the net the layers describe and gives it their weights. */
static nn_status build(importer *imp, int max_batch, int inference)
{
    nn_net *net = imp->net;
    size_t p = 0, s = 0, params = 0, state = 0;
    int c, h, w;
    nn_status st;
    nn_net_input_shape(net, &c, &h, &w);
    for (int i = 0; i < imp->n_layers; i++) {
        p += imp->layers[i].in.n_params;
        s += imp->layers[i].in.n_state;
    }
    /* Checked before building: a short file that declares a large input
     * must not make the net allocate more weights than the file holds. */
    if ((st = nn_net_plan(net, max_batch, &params, &state)) == NN_OK &&
        (params != p || state != s)) {
        fail(imp, "the file holds %zu weights and %zu state values, the "
             "layers %zu and %zu for the input %dx%dx%d", p, s, params, state,
             c, h, w);
        return NN_EFORMAT;
    }
    p = s = 0;
    if (st == NN_OK)
        st = inference ? nn_net_build_inference(net, max_batch, 0)
                       : nn_net_build(net, max_batch, 0);
    if (st == NN_OK && imp->m->has_normalization &&
        nn_net_set_normalization(net, imp->m->mean, imp->m->std) != NN_OK)
        st = NN_EFORMAT;
    for (int i = 0; st == NN_OK && i < imp->n_layers; i++) {
        const nn_onnx_layer_in *in = &imp->layers[i].in;
        nn_layer_info info;
        nn_net_layer_info(net, i, &info);
        if (info.params != in->n_params || info.state != in->n_state) {
            fail(imp, "layer %d (%s) holds %zu weights in the file, %zu for "
                 "its input shape", i, info.kind, in->n_params, info.params);
            return NN_EFORMAT;
        }
        if (info.params)
            memcpy(nn_net_params(net) + p, in->params, info.params * sizeof(float));
        if (info.state)
            memcpy(nn_net_state(net) + s, in->state, info.state * sizeof(float));
        p += info.params;
        s += info.state;
    }
    if (st == NN_OK && nn_model_invalid_value(net, imp->why, imp->why_size))
        st = NN_EFORMAT;
    if (st != NN_OK && !imp->why[0])
        fail(imp, "the layers do not fit the input %dx%dx%d: %s", c, h, w,
             nn_status_str(st));
    return st == NN_OK || st == NN_ENOMEM ? st : NN_EFORMAT;
}

/* Reads node i into layers or values; 0 with why set. */
static int read_node(importer *imp, nn_onnx_node_read *nr, int i)
{
    const nn_onnx_kind *onnx;
    int handled;
    if (!nn_onnx_read_node(imp->m, i, nr, imp->why, imp->why_size) ||
        !check_ssa(imp, nr))
        return 0;
    if (!strcmp(nr->in.op, "Constant"))
        return nn_onnx_add_constant(imp->m, nr, imp->why, imp->why_size);
    if (nn_onnx_fold(imp->m, nr))
        return 1;
    if (!older_opset_fits(imp, &nr->in))
        return 0;
    handled = structural(imp, nr, i == imp->m->n_nodes - 1);
    if (handled)
        return handled > 0;
    if (!(onnx = nn_onnx_kind_for_op(nr->in.op)))
        return fail(imp, "node %d '%s': libnn has no layer for this operator",
                    i, nr->in.op);
    return onnx->kind->flags & NN_KIND_JOIN ? join_node(imp, nr, onnx)
                                            : layer_node(imp, nr, onnx);
}

/* The net m's graph describes, built for max_batch (for inference only
 * when inference is 1), with the file's weights; NN_EFORMAT with why naming
 * the node when libnn cannot represent it. */
static nn_status import(nn_onnx_model *m, int max_batch, int inference,
                        nn_net **out, char *why, size_t why_size)
{
    importer imp = {m, NULL, NULL, 0, m->n_nodes + 1, NULL, 0, m->n_nodes + 1,
                    NULL, 0, why, why_size};
    nn_onnx_node_read *nr = malloc(sizeof *nr);
    char input[NN_ONNX_MAX_NAME];
    int shape[3], rank;
    nn_status st = NN_EFORMAT;
    /* each node adds at most one layer: its own, or (a Slice) the pooling
     * that applies it; and at most one value */
    imp.layers = calloc((size_t)imp.max_layers, sizeof *imp.layers);
    imp.values = calloc((size_t)imp.max_values, sizeof *imp.values);
    imp.written = malloc(((size_t)m->n_nodes * NN_ONNX_NODE_NAMES + 1) *
                         sizeof *imp.written);
    if (!nr || !imp.layers || !imp.values || !imp.written) {
        fail(&imp, "out of memory");
        st = NN_ENOMEM;
        goto done;
    }
    if (!nn_onnx_graph_input(m, input, shape, &rank, why, why_size))
        goto done;
    if ((st = nn_net_create(shape[0], shape[1], shape[2], &imp.net)) != NN_OK) {
        fail(&imp, "the input %dx%dx%d: %s", shape[0], shape[1], shape[2],
             nn_status_str(st));
        goto done;
    }
    st = NN_EFORMAT;
    imp.values[imp.n_values++] = (value){.node = -1, .tensor = 0, .rank = rank,
                                         .step = {1, 1}, .direct = 1};
    snprintf(imp.values[0].name, sizeof imp.values[0].name, "%s", input);
    strcpy(imp.written[imp.n_written++], input);
    for (int i = 0; i < m->n_nodes; i++)
        if (!read_node(&imp, nr, i))
            goto done;
    if (imp.net->count == 0) {
        fail(&imp, "the graph holds no layer");
        goto done;
    }
    if (check_end(&imp))
        st = build(&imp, max_batch, inference);
done:
    if (st == NN_OK)
        *out = imp.net;
    else
        nn_net_destroy(imp.net);
    for (int i = 0; imp.layers && i < imp.n_layers; i++) {
        free(imp.layers[i].in.params);
        free(imp.layers[i].in.state);
    }
    free(imp.layers);
    free(imp.values);
    free(imp.written);
    free(nr);
    return st;
}

nn_status nn_onnx_load(const char *path, int max_batch, int inference,
                       nn_net **out, char *msg, size_t msg_size)
{
    nn_le_buffer b = {NULL, 0, 0, 0};
    nn_onnx_model *m;
    char why[256] = "";
    nn_status st = nn_model_read_whole(path, max_batch, out, &b, msg, msg_size);
    if (st != NN_OK)
        return st;
    m = calloc(1, sizeof *m);
    if (!m)
        st = NN_ENOMEM;
    else if (!nn_onnx_model_parse(b.data, b.size, m, why, sizeof why))
        st = NN_EFORMAT;
    else
        st = import(m, max_batch, inference != 0, out, why, sizeof why);
    if (st != NN_OK)
        nn_format_msg(msg, msg_size, "%s: %s", path, why[0] ? why : nn_status_str(st));
    nn_onnx_model_free(m);
    free(m);
    free(b.data);
    return st;
}
