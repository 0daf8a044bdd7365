/* How each layer kind maps to ONNX: the nodes and initializers it writes
 * (with inference semantics, from tensor `in` to tensor `out`) and the
 * operators it reads back, with the table that ties them to the kinds.
 * It lives in src/io/ so that io/ depends on layers/ and not the reverse;
 * the graph around the layers is onnx_write.c's and onnx_import.c's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/onnx.h"
#include "layers/layer.h"

/* -------------------------------------------------- activation */

static void activation_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                   const char *in, const char *out)
{
    const char *op = nn_onnx_kind_of(layer->kind)->ops;
    nn_onnx_node_end(g, nn_onnx_node(g, op, &in, 1, out));
}

/* LeakyRelu with its slope as alpha. */
static void leakyrelu_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                  const char *in, const char *out)
{
    size_t node = nn_onnx_node(g, "LeakyRelu", &in, 1, out);
    nn_onnx_attr_float(g, "alpha", layer->args.slope);
    nn_onnx_node_end(g, node);
}

static int activation_onnx_import(const nn_onnx_node_in *node,
                                  nn_onnx_layer_in *out)
{
    (void)node;
    (void)out;
    return 1;
}

/* LeakyRelu: alpha is the slope (ONNX's default 0.01 is libnn's). */
static int leakyrelu_onnx_import(const nn_onnx_node_in *node,
                                 nn_onnx_layer_in *out)
{
    const nn_onnx_attr *alpha = nn_onnx_attr_find(node, "alpha");
    if (alpha)
        out->args.slope = alpha->f;
    return 1;
}

/* ---------------------------------------------------- auto_pad */

/* How a node's auto_pad reads (absent is NOTSET). */
enum { AUTO_PAD_NOTSET, AUTO_PAD_VALID, AUTO_PAD_SAME, AUTO_PAD_OTHER };

static int auto_pad_of(const nn_onnx_node_in *node)
{
    const nn_onnx_attr *a = nn_onnx_attr_find(node, "auto_pad");
    static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
    if (!a)
        return AUTO_PAD_NOTSET;
    for (int i = 0; i < 4; i++)
        if (a->s.data && a->s.size == strlen(names[i]) &&
            !memcmp(a->s.data, names[i], a->s.size))
            return i < 2 ? i : AUTO_PAD_SAME;
    return AUTO_PAD_OTHER;
}

/* The padding auto_pad asks of a window of k with this stride into *pad:
 * NOTSET keeps the pads attribute's (*pad as read), VALID none, SAME_UPPER
 * and SAME_LOWER (k - 1) / 2 on every side, which is what they pad when the
 * stride is 1 and k odd (the output as large as the input). 0 when auto_pad
 * asks for something else, or comes with pads. */
static int auto_pad_fits(const nn_onnx_node_in *node, int k, int stride,
                         int *pad)
{
    int mode = auto_pad_of(node);
    if (mode == AUTO_PAD_NOTSET)
        return 1;
    if (mode == AUTO_PAD_OTHER || nn_onnx_attr_find(node, "pads"))
        return 0;
    if (mode == AUTO_PAD_VALID) {
        *pad = 0;
        return 1;
    }
    if (stride != 1 || k % 2 == 0)
        return 0;
    *pad = (k - 1) / 2;
    return 1;
}

/* ----------------------------------------------------- pooling */

/* A pooling node op (MaxPool or AveragePool) with the layer's
 * kernel_shape, strides, pads (when padded, or always_pads), ceil_mode
 * (when set) and, when count_include_pad >= 0, that attribute */
static void pool_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                             const char *in, const char *out, const char *op,
                             int always_pads, int count_include_pad)
{
    const nn_layer_args *a = &layer->args;
    int kernel[2] = {a->kh, a->kw ? a->kw : a->kh};
    int strides[2] = {a->stride, a->stride};
    int pads[4] = {a->pad, a->pad, a->pad, a->pad};
    const char *x = nn_onnx_as_nchw(g, in, layer->in_c);
    size_t node = nn_onnx_node(g, op, &x, 1, out);
    nn_onnx_attr_ints(g, "kernel_shape", kernel, 2);
    nn_onnx_attr_ints(g, "strides", strides, 2);
    if (a->pad || always_pads)
        nn_onnx_attr_ints(g, "pads", pads, 4);
    if (a->ceil_mode)
        nn_onnx_attr_int(g, "ceil_mode", 1);
    if (count_include_pad >= 0)
        nn_onnx_attr_int(g, "count_include_pad", count_include_pad);
    nn_onnx_node_end(g, node);
    g->rank = 4;
}

/* A pooling node's window into a (kh, kw, stride, pad, ceil_mode): two
 * sides of kernel_shape, equal strides, the same padding on every side and
 * below the window (or none; auto_pad VALID, or SAME with stride 1 and an
 * odd square window), no dilation; 0 with out->why set otherwise. */
static int pool_window_import(const nn_onnx_node_in *node,
                              nn_onnx_layer_in *out)
{
    const nn_onnx_attr *kernel = nn_onnx_attr_find(node, "kernel_shape");
    const nn_onnx_attr *ceil = nn_onnx_attr_find(node, "ceil_mode");
    nn_layer_args *a = &out->args;
    int stride = 1, pad = 0, dilation = 1;
    if (!kernel || kernel->n_ints != 2 || kernel->ints[0] < 1 ||
        kernel->ints[1] < 1 || kernel->ints[0] > NN_SPEC_MAX_SIDE ||
        kernel->ints[1] > NN_SPEC_MAX_SIDE) {
        snprintf(out->why, sizeof out->why, "kernel_shape is not two sides "
                 "of 1 to %d", NN_SPEC_MAX_SIDE);
        return 0;
    }
    *a = (nn_layer_args){.kh = (int)kernel->ints[0], .kw = (int)kernel->ints[1]};
    if (!nn_onnx_same_ints(node, "strides", 2, 1, &stride) || stride < 1 ||
        stride > NN_SPEC_MAX_SIDE ||
        !nn_onnx_same_ints(node, "dilations", 2, 1, &dilation) || dilation != 1) {
        snprintf(out->why, sizeof out->why, "unequal strides or dilations: "
                 "libnn pools dense windows with one stride both ways");
        return 0;
    }
    if (!nn_onnx_same_ints(node, "pads", 4, 0, &pad)) {
        snprintf(out->why, sizeof out->why, "asymmetric pads: libnn pads "
                 "every side alike");
        return 0;
    }
    if (!auto_pad_fits(node, a->kh == a->kw ? a->kh : 0, stride, &pad)) {
        snprintf(out->why, sizeof out->why, "auto_pad: libnn reads NOTSET, "
                 "VALID, and SAME with stride 1 and an odd square window");
        return 0;
    }
    if (pad >= a->kh || pad >= a->kw) {
        snprintf(out->why, sizeof out->why, "padding %d is not below the "
                 "window %dx%d: a window could hold padding only", pad, a->kh,
                 a->kw);
        return 0;
    }
    a->stride = stride;
    a->pad = pad;
    /* as ONNX defines it since onnx/onnx#6650, and PyTorch: a last window
     * that would start in the right padding is dropped */
    a->ceil_mode = ceil && ceil->i;
    out->rank_out = 4;
    return 1;
}

/* AveragePool: count_include_pad as the layer's, with its padding */
static void avgpool_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                const char *in, const char *out)
{
    pool_onnx_export(layer, g, in, out, "AveragePool", 1,
                     !layer->args.exclude_pad);
}

/* AveragePool with the window pool_window_import reads, the padding
 * counted in the mean or not (count_include_pad, 0 by default; a counted
 * ceil-mode window running past the padded input is divided by what is
 * left of it, as PyTorch and ONNX since onnx/onnx#6650 do). A zero Pad
 * before it folds into a counted padding (not in ceil mode, where the
 * last window's divisor would differ). */
static int avgpool_onnx_import(const nn_onnx_node_in *node,
                               nn_onnx_layer_in *out)
{
    const nn_onnx_attr *count_pad = nn_onnx_attr_find(node, "count_include_pad");
    if (!pool_window_import(node, out))
        return 0;
    out->args.exclude_pad = out->args.pad > 0 && !(count_pad && count_pad->i);
    out->zero_pad = !out->args.exclude_pad && !out->args.ceil_mode;
    return 1;
}

/* GlobalAveragePool: (N, C, H, W) to (N, C, 1, 1) */
static void global_avgpool_onnx_export(const nn_layer *layer,
                                       nn_onnx_graph *g, const char *in,
                                       const char *out)
{
    const char *x = nn_onnx_as_nchw(g, in, layer->in_c);
    nn_onnx_node_end(g, nn_onnx_node(g, "GlobalAveragePool", &x, 1, out));
    g->rank = 4;
}

static int global_avgpool_onnx_import(const nn_onnx_node_in *node,
                                      nn_onnx_layer_in *out)
{
    (void)node;
    out->rank_out = 4;
    return 1;
}

/* --------------------------------------------------- batchnorm */

/* BatchNormalization with the running statistics (inference) */
static void batchnorm_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                  const char *in, const char *out)
{
    static const char *const what[4] = {"gamma", "beta", "mean", "var"};
    int c = layer->in_c, dims[1] = {c};
    char names[5][64];
    const char *inputs[5] = {names[0], names[1], names[2], names[3], names[4]};
    size_t node;
    snprintf(names[0], sizeof names[0], "%s", in);
    for (int i = 0; i < 4; i++) {
        snprintf(names[i + 1], sizeof names[i + 1], "%s", nn_onnx_name(g, what[i]));
        nn_onnx_initializer(g, names[i + 1], dims, 1,
                            i < 2 ? layer->params + i * c : layer->state + (i - 2) * c);
    }
    node = nn_onnx_node(g, "BatchNormalization", inputs, 5, out);
    nn_onnx_attr_float(g, "epsilon", layer->args.eps);
    nn_onnx_node_end(g, node);
}

/* BatchNormalization in inference form: scale, bias, mean and variance
 * initializers of C values each; its epsilon (ONNX's default 1e-5) */
static int batchnorm_onnx_import(const nn_onnx_node_in *node,
                                 nn_onnx_layer_in *out)
{
    const nn_onnx_attr *eps = nn_onnx_attr_find(node, "epsilon");
    const nn_onnx_attr *mode = nn_onnx_attr_find(node, "training_mode");
    size_t c = node->n_inputs == 5 && node->init[1] ? node->init[1]->count : 0;
    for (int i = 1; i < 5 && c; i++)
        if (!node->init[i] || node->init[i]->count != c)
            c = 0;
    if (!c || (mode && mode->i != 0)) {
        snprintf(out->why, sizeof out->why, "not in inference form with four "
                 "initializers of one size");
        return 0;
    }
    out->args.eps = eps ? eps->f : NN_BATCHNORM_EPS;
    if (!(out->args.eps > 0.0f && out->args.eps <= 1.0f)) {
        snprintf(out->why, sizeof out->why, "epsilon %g: libnn's batchnorm "
                 "takes an epsilon in (0, 1]", (double)out->args.eps);
        return 0;
    }
    out->n_params = out->n_state = 2 * c;
    out->params = malloc(2 * c * sizeof(float));
    out->state = malloc(2 * c * sizeof(float));
    if (!out->params || !out->state)
        return 0;
    for (int i = 0; i < 4; i++)
        memcpy((i < 2 ? out->params : out->state) + (size_t)(i % 2) * c,
               node->init[i + 1]->values, c * sizeof(float));
    return 1;
}

/* ------------------------------------------------------ conv2d */

/* Conv with W (out_c, in_c, kh, kw) and B (out_c), symmetric pads */
static void conv2d_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                               const char *in, const char *out)
{
    const nn_layer_args *a = &layer->args;
    int wdims[4] = {a->out, layer->in_c, a->kh, a->kw}, bdims[1] = {a->out};
    int kernel[2] = {a->kh, a->kw}, strides[2] = {a->stride, a->stride};
    int pads[4] = {a->pad, a->pad, a->pad, a->pad};
    char x[64], w[64], b[64];
    const char *inputs[3] = {x, w, b};
    size_t node;
    snprintf(x, sizeof x, "%s", nn_onnx_as_nchw(g, in, layer->in_c));
    snprintf(w, sizeof w, "%s", nn_onnx_name(g, "weight"));
    snprintf(b, sizeof b, "%s", nn_onnx_name(g, "bias"));
    nn_onnx_initializer(g, w, wdims, 4, layer->params);
    nn_onnx_initializer(g, b, bdims, 1, layer->params + layer->sizes.decayed);
    node = nn_onnx_node(g, "Conv", inputs, 3, out);
    nn_onnx_attr_ints(g, "kernel_shape", kernel, 2);
    nn_onnx_attr_ints(g, "strides", strides, 2);
    nn_onnx_attr_ints(g, "pads", pads, 4);
    nn_onnx_node_end(g, node);
    g->rank = 4;
}

/* A kernel_shape, when given, that is the weights' (kh, kw), and a stride
 * of at least 1; 0 with why set otherwise. */
static int conv2d_kernel_fits(const nn_onnx_node_in *node,
                              const nn_onnx_tensor *w, int stride, char *why,
                              size_t why_size)
{
    const nn_onnx_attr *kernel = nn_onnx_attr_find(node, "kernel_shape");
    if (kernel && (kernel->n_ints != 2 || kernel->ints[0] != w->dims[2] ||
                   kernel->ints[1] != w->dims[3])) {
        snprintf(why, why_size, "kernel_shape is not its weights' %lldx%lld",
                 (long long)w->dims[2], (long long)w->dims[3]);
        return 0;
    }
    if (stride < 1) {
        snprintf(why, why_size, "stride %d: strides are at least 1", stride);
        return 0;
    }
    return 1;
}

/* Conv of one group, equal strides, the same zero padding on every side
 * (or none; auto_pad VALID, or SAME with stride 1 and an odd square
 * kernel), no dilation; W an initializer, B one or absent (zeros) */
static int conv2d_onnx_import(const nn_onnx_node_in *node,
                              nn_onnx_layer_in *out)
{
    const nn_onnx_tensor *w = node->n_inputs > 1 ? node->init[1] : NULL;
    const nn_onnx_tensor *b = node->n_inputs > 2 ? node->init[2] : NULL;
    int group = 1, dilation = 1, stride = 1, pad = 0;
    const nn_onnx_attr *a = nn_onnx_attr_find(node, "group");
    if (!w || w->rank != 4) {
        snprintf(out->why, sizeof out->why, "its weights are not a 4-D initializer");
        return 0;
    }
    if (a)
        group = (int)a->i;
    if (group != 1 ||
        !nn_onnx_same_ints(node, "dilations", 2, 1, &dilation) || dilation != 1 ||
        !nn_onnx_same_ints(node, "strides", 2, 1, &stride) ||
        !nn_onnx_same_ints(node, "pads", 4, 0, &pad) ||
        (w->dims[2] != w->dims[3] && auto_pad_of(node) == AUTO_PAD_SAME) ||
        !auto_pad_fits(node, (int)w->dims[2], stride, &pad)) {
        snprintf(out->why, sizeof out->why, "groups, dilation, auto_pad, "
                 "unequal strides or asymmetric padding: libnn convolutions "
                 "have one group and the same stride and padding everywhere");
        return 0;
    }
    if (b && (b->rank != 1 || b->dims[0] != w->dims[0])) {
        snprintf(out->why, sizeof out->why, "its bias does not match its weights");
        return 0;
    }
    if (!conv2d_kernel_fits(node, w, stride, out->why, sizeof out->why))
        return 0;
    out->args = (nn_layer_args){.out = (int)w->dims[0],
                                .kh = (int)w->dims[2], .kw = (int)w->dims[3],
                                .stride = stride, .pad = pad};
    out->n_params = w->count + (size_t)w->dims[0];
    out->params = calloc(out->n_params, sizeof(float));
    if (!out->params)
        return 0;
    memcpy(out->params, w->values, w->count * sizeof(float));
    if (b)
        memcpy(out->params + w->count, b->values, b->count * sizeof(float));
    out->rank_out = 4;
    out->zero_pad = 1;
    return 1;
}

/* ------------------------------------------------------- dense */

/* The attribute name's float value, def when absent. */
static float attr_float(const nn_onnx_node_in *node, const char *name, float def)
{
    const nn_onnx_attr *a = nn_onnx_attr_find(node, name);
    return a ? a->f : def;
}

/* The attribute name's integer value, def when absent. */
static int64_t attr_int(const nn_onnx_node_in *node, const char *name,
                        int64_t def)
{
    const nn_onnx_attr *a = nn_onnx_attr_find(node, name);
    return a ? a->i : def;
}

/* Flatten (when the input is NCHW), then Gemm with W (out, in) transposed
 * (transB = 1) and C the bias */
static void dense_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                              const char *in, const char *out)
{
    int outputs = layer->args.out, inputs_n = layer->in_c * layer->in_h * layer->in_w;
    int wdims[2] = {outputs, inputs_n}, bdims[1] = {outputs};
    char x[64], w[64], b[64];
    const char *inputs[3] = {x, w, b};
    size_t node;
    snprintf(x, sizeof x, "%s", in);
    if (g->rank != 2) {
        snprintf(x, sizeof x, "%s", nn_onnx_name(g, "flat"));
        node = nn_onnx_node(g, "Flatten", &in, 1, x);
        nn_onnx_attr_int(g, "axis", 1);
        nn_onnx_node_end(g, node);
    }
    snprintf(w, sizeof w, "%s", nn_onnx_name(g, "weight"));
    snprintf(b, sizeof b, "%s", nn_onnx_name(g, "bias"));
    nn_onnx_initializer(g, w, wdims, 2, layer->params);
    nn_onnx_initializer(g, b, bdims, 1, layer->params + layer->sizes.decayed);
    node = nn_onnx_node(g, "Gemm", inputs, 3, out);
    nn_onnx_attr_int(g, "transB", 1);
    nn_onnx_node_end(g, node);
    g->rank = 2;
}

/* 1 when a bias b broadcasts along the outputs alone, as ONNX broadcasts
 * it against (batch, outputs): (outputs), (1, outputs) or one value. A
 * bias such as (outputs, 1) would be one value a sample. */
static int bias_per_output(const nn_onnx_tensor *b, size_t outputs)
{
    for (int d = 0; d + 1 < b->rank; d++)
        if (b->dims[d] != 1)
            return 0;
    return b->count == 1 || (b->rank >= 1 && (size_t)b->dims[b->rank - 1] == outputs);
}

/* Gemm (alpha times A B plus beta times C, A not transposed; B (out, in)
 * with transB = 1 or (in, out) without; C a bias per output, one value or
 * absent: alpha and beta are folded into the weights and bias) or MatMul
 * (B (in, out); a following Add may bring the bias) */
static int dense_onnx_import(const nn_onnx_node_in *node, nn_onnx_layer_in *out)
{
    int gemm = strcmp(node->op, "Gemm") == 0;
    int trans_b = gemm && attr_int(node, "transB", 0);
    const nn_onnx_tensor *w = node->n_inputs > 1 ? node->init[1] : NULL;
    const nn_onnx_tensor *b = gemm && node->n_inputs > 2 ? node->init[2] : NULL;
    float alpha = gemm ? attr_float(node, "alpha", 1.0f) : 1.0f;
    float beta = gemm ? attr_float(node, "beta", 1.0f) : 1.0f;
    size_t in, outputs;
    if (!w || w->rank != 2) {
        snprintf(out->why, sizeof out->why, "its weights are not a 2-D initializer");
        return 0;
    }
    if (gemm && attr_int(node, "transA", 0) != 0) {
        snprintf(out->why, sizeof out->why, "transA 1: libnn's dense layer "
                 "takes the samples as rows");
        return 0;
    }
    outputs = (size_t)(trans_b ? w->dims[0] : w->dims[1]);
    in = (size_t)(trans_b ? w->dims[1] : w->dims[0]);
    if (b && !bias_per_output(b, outputs)) {
        snprintf(out->why, sizeof out->why, "its bias (%zu values) is not one "
                 "value per output of its %zu: libnn adds a bias per output",
                 b->count, outputs);
        return 0;
    }
    out->args = (nn_layer_args){.out = (int)outputs};
    out->n_params = outputs * in + outputs;
    out->params = calloc(out->n_params, sizeof(float));
    if (!out->params)
        return 0;
    for (size_t o = 0; o < outputs; o++) /* W (out, in) */
        for (size_t i = 0; i < in; i++)
            out->params[o * in + i] = alpha *
                (trans_b ? w->values[o * in + i] : w->values[i * outputs + o]);
    for (size_t o = 0; b && o < outputs; o++)
        out->params[outputs * in + o] = beta * b->values[b->count == 1 ? 0 : o];
    out->bias_at = outputs * in;
    out->rank_out = 2;
    return 1;
}

/* --------------------------------------------- global mean */

/* ReduceMean over height and width: axes {2, 3} (or {-2, -1}) of
 * (N, C, H, W), from the attribute or (opset 18 on) an int64 input, is
 * global average pooling; keepdims 1 (the default) gives (N, C, 1, 1), 0
 * gives (N, C). PyTorch writes x.mean([2, 3]) so. */
static int reduce_mean_onnx_import(const nn_onnx_node_in *node,
                                   nn_onnx_layer_in *out)
{
    const nn_onnx_attr *axes = nn_onnx_attr_find(node, "axes");
    const int64_t *a = axes ? axes->ints : node->n_inputs > 1 ? node->int64s[1] : NULL;
    int n = axes ? axes->n_ints : node->n_inputs > 1 ? node->n_int64s[1] : 0;
    int height = 0, width = 0;
    for (int i = 0; a && i < n; i++) {
        int64_t axis = a[i] < 0 ? a[i] + 4 : a[i];
        height += axis == 2;
        width += axis == 3;
    }
    if (node->rank != 4 || n != 2 || height != 1 || width != 1) {
        snprintf(out->why, sizeof out->why, "a mean over other axes than "
                 "height and width (2 and 3) of (N, C, H, W): libnn has "
                 "global average pooling");
        return 0;
    }
    out->rank_out = attr_int(node, "keepdims", 1) ? 4 : 2;
    return 1;
}

/* ------------------------------------------------------- joins */

/* The names of a join's inputs into x, all of one rank: 4 when any input
 * is (N, C, H, W), an (N, F) one then reshaped to (N, F, 1, 1) first.
 * Returns that rank. */
static int join_inputs(const nn_layer *layer, nn_onnx_graph *g,
                       char x[NN_MAX_INPUTS][64])
{
    int rank = 2;
    for (int k = 0; k < g->inputs; k++)
        if (g->in_rank[k] == 4)
            rank = 4;
    for (int k = 0; k < g->inputs; k++)
        snprintf(x[k], sizeof x[k], "%s", rank == g->in_rank[k] ? g->in[k]
                 : nn_onnx_input_nchw(g, k, layer->in_shape[k][0]));
    return rank;
}

/* Add of two outputs; Sum of three or more (ONNX's Sum adds them all, as
 * libnn's add does in order: x0 + x1 + x2 ...) */
static void add_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                            const char *in, const char *out)
{
    char x[NN_MAX_INPUTS][64];
    const char *inputs[NN_MAX_INPUTS];
    (void)in;
    g->rank = join_inputs(layer, g, x);
    for (int k = 0; k < g->inputs; k++)
        inputs[k] = x[k];
    nn_onnx_node_end(g, nn_onnx_node(g, g->inputs == 2 ? "Add" : "Sum",
                                     inputs, g->inputs, out));
}

/* Concat along channels: axis 1 of (N, C, H, W) or of (N, F) */
static void concat_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                               const char *in, const char *out)
{
    char x[NN_MAX_INPUTS][64];
    const char *inputs[NN_MAX_INPUTS];
    size_t node;
    (void)in;
    g->rank = join_inputs(layer, g, x);
    for (int k = 0; k < g->inputs; k++)
        inputs[k] = x[k];
    node = nn_onnx_node(g, "Concat", inputs, g->inputs, out);
    nn_onnx_attr_int(g, "axis", 1);
    nn_onnx_node_end(g, node);
}

/* Concat along axis 1 (-3 of (N, C, H, W), -1 of (N, F)): channels */
static int concat_onnx_import(const nn_onnx_node_in *node,
                              nn_onnx_layer_in *out)
{
    const nn_onnx_attr *axis = nn_onnx_attr_find(node, "axis");
    if (!axis)
        snprintf(out->why, sizeof out->why, "without an axis");
    else if (axis->i != 1 && axis->i != 1 - node->rank)
        snprintf(out->why, sizeof out->why, "along axis %lld of a %d-D "
                 "tensor: libnn concatenates along channels (axis 1)",
                 (long long)axis->i, node->rank);
    if (!axis || (axis->i != 1 && axis->i != 1 - node->rank))
        return 0;
    return 1;
}

/* ----------------------------------------------------- dropout */

/* Dropout with its ratio as a scalar initializer: the identity in
 * inference (training_mode is false by default) */
static void dropout_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                const char *in, const char *out)
{
    char ratio[64];
    const char *inputs[2] = {in, ratio};
    snprintf(ratio, sizeof ratio, "%s", nn_onnx_name(g, "ratio"));
    nn_onnx_initializer(g, ratio, NULL, 0, &layer->args.rate);
    nn_onnx_node_end(g, nn_onnx_node(g, "Dropout", inputs, 2, out));
}

/* Dropout: the ratio from its second input (opset 12 on) or attribute
 * (older opsets), 0.5 when neither is given */
static int dropout_onnx_import(const nn_onnx_node_in *node,
                               nn_onnx_layer_in *out)
{
    const nn_onnx_attr *ratio = nn_onnx_attr_find(node, "ratio");
    const nn_onnx_tensor *r = node->n_inputs > 1 ? node->init[1] : NULL;
    out->args.rate = r && r->count == 1 ? r->values[0] : ratio ? ratio->f : 0.5f;
    if (!(out->args.rate >= 0.0f && out->args.rate < 1.0f)) {
        snprintf(out->why, sizeof out->why, "ratio %g is not in [0, 1)",
                 (double)out->args.rate);
        return 0;
    }
    return 1;
}

/* ----------------------------------------------------- maxpool */

/* MaxPool, with its padding (which ONNX, too, never lets win) */
static void maxpool_onnx_export(const nn_layer *layer, nn_onnx_graph *g,
                                const char *in, const char *out)
{
    pool_onnx_export(layer, g, in, out, "MaxPool", 0, -1);
}

/* MaxPool with the window pool_window_import reads; a Pad before it does
 * not fold (its zeros can be a maximum, padding cannot) */
static int maxpool_onnx_import(const nn_onnx_node_in *node,
                               nn_onnx_layer_in *out)
{
    return pool_window_import(node, out);
}

/* ---------------------------------------------------------------- table */

/* Every kind that ONNX files can hold, each with the operators it imports;
 * a kind's first row is the one it exports with. */
static const nn_onnx_kind onnx_kinds[] = {
    {.kind = &nn_kind_conv2d, .ops = "Conv",
     .export_nodes = conv2d_onnx_export, .import_node = conv2d_onnx_import},
    {.kind = &nn_kind_dense, .ops = "Gemm MatMul",
     .export_nodes = dense_onnx_export, .import_node = dense_onnx_import},
    {.kind = &nn_kind_maxpool, .ops = "MaxPool",
     .export_nodes = maxpool_onnx_export, .import_node = maxpool_onnx_import},
    {.kind = &nn_kind_avgpool, .ops = "AveragePool",
     .export_nodes = avgpool_onnx_export, .import_node = avgpool_onnx_import},
    {.kind = &nn_kind_global_avgpool, .ops = "GlobalAveragePool",
     .export_nodes = global_avgpool_onnx_export,
     .import_node = global_avgpool_onnx_import},
    {.kind = &nn_kind_relu, .ops = "Relu",
     .export_nodes = activation_onnx_export,
     .import_node = activation_onnx_import},
    {.kind = &nn_kind_sigmoid, .ops = "Sigmoid",
     .export_nodes = activation_onnx_export,
     .import_node = activation_onnx_import},
    {.kind = &nn_kind_tanh, .ops = "Tanh",
     .export_nodes = activation_onnx_export,
     .import_node = activation_onnx_import},
    {.kind = &nn_kind_leakyrelu, .ops = "LeakyRelu",
     .export_nodes = leakyrelu_onnx_export,
     .import_node = leakyrelu_onnx_import},
    {.kind = &nn_kind_batchnorm, .ops = "BatchNormalization",
     .export_nodes = batchnorm_onnx_export,
     .import_node = batchnorm_onnx_import},
    {.kind = &nn_kind_dropout, .ops = "Dropout",
     .export_nodes = dropout_onnx_export, .import_node = dropout_onnx_import},
    {.kind = &nn_kind_global_avgpool, .ops = "ReduceMean",
     .export_nodes = global_avgpool_onnx_export,
     .import_node = reduce_mean_onnx_import},
    /* Add and Sum have no attributes to read: the reader checks that the
     * shapes agree, and folds an Add of a constant bias into the layer
     * before it */
    {.kind = &nn_kind_add, .ops = "Add Sum",
     .export_nodes = add_onnx_export, .import_node = activation_onnx_import},
    {.kind = &nn_kind_concat, .ops = "Concat",
     .export_nodes = concat_onnx_export, .import_node = concat_onnx_import},
};

const nn_onnx_kind *nn_onnx_kind_of(const nn_layer_kind *kind)
{
    for (size_t i = 0; i < sizeof onnx_kinds / sizeof onnx_kinds[0]; i++)
        if (onnx_kinds[i].kind == kind)
            return &onnx_kinds[i];
    return NULL;
}

const nn_onnx_kind *nn_onnx_kind_for_op(const char *op)
{
    size_t len = strlen(op);
    for (size_t i = 0; i < sizeof onnx_kinds / sizeof onnx_kinds[0]; i++) {
        const char *ops = onnx_kinds[i].ops;
        while (*ops) {
            size_t word = strcspn(ops, " ");
            if (word == len && !memcmp(ops, op, len))
                return &onnx_kinds[i];
            ops += word + (ops[word] == ' ');
        }
    }
    return NULL;
}
