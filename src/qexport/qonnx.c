/* An int8 model as ONNX (opset 13), in the QDQ form ONNX Runtime runs
 * with its integer kernels (nn_qmodel_onnx_save in nn/quant.h):
 *   - QuantizeLinear of the float input to uint8 (tensor 0's scale and
 *     zero point); every uint8 tensor t of the model is "q<t>" with its
 *     scale "q<t>_scale" and zero point "q<t>_zero_point";
 *   - a convolution: QLinearConv (uint8 x, int8 weights with per-channel
 *     1-D w_scale and zero zero points, the int32 bias); the last one, when
 *     it outputs int32 sums, as DequantizeLinear -> Conv -> float logits
 *     with weights and bias dequantized per channel (axis 0);
 *   - a dense layer: DequantizeLinear -> Flatten -> Gemm (weights and
 *     bias as per-axis DequantizeLinear of the int8 and int32
 *     initializers) -> QuantizeLinear (or float logits at the end);
 *   - an unfolded batchnorm: DequantizeLinear -> Mul -> Add of its
 *     dequantized per-channel weight and bias -> QuantizeLinear;
 *   - MaxPool on uint8; average pooling, add and concat as
 *     DequantizeLinear -> AveragePool / GlobalAveragePool / Add / Concat
 *     -> QuantizeLinear;
 *   - a table (relu, leaky relu, sigmoid, tanh) as DequantizeLinear ->
 *     the float function -> QuantizeLinear; a leaky relu's slope is read
 *     back from its table (any slope that reproduces the table), and a
 *     table whose function is unknown is a Gather of its 256 bytes;
 *   - a folded relu (or any clamp of the output's range) as a Relu (or a
 *     Clip) between DequantizeLinear and QuantizeLinear when the output's
 *     zero point does not already give it;
 *   - the last tensor dequantized to float ("output"), or "logits" then
 *     Softmax with NN_ONNX_SOFTMAX.
 * ONNX rounds ties to even and computes requantization in float where
 * libnn's integers round ties away from zero: results agree but for rare
 * off-by-one steps (docs/FORMAT.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "io/onnx.h"
#include "quant/qmodel.h"

#define QONNX_IR_VERSION 7
#define QONNX_OPSET 13
#define QONNX_MAX_BYTES ((size_t)1 << 31)

/* TensorProto data types */
enum { T_FLOAT = 1, T_UINT8 = 2, T_INT8 = 3, T_INT32 = 6, T_INT64 = 7 };

/* The graph being written. */
typedef struct {
    nn_pb_writer *w;
    nn_onnx_graph g;   /* for nn_onnx_attr_* (only g.graph is used) */
    const nn_qmodel *q;
    int *rank;         /* (tensor_count) 4, or 2 after a dense layer */
    int *nchw;         /* (tensor_count) 1 once "q<t>_nchw" is written */
    int softmax;
} qgraph;

/* ------------------------------------------------------------ pieces */

/* An initializer of `count` values of type (T_*) from raw little-endian
 * bytes; dims of rank (0: a scalar). */
static void init_raw(qgraph *g, const char *name, int type, const int *dims,
                     int rank, const void *raw, size_t bytes)
{
    size_t mark = nn_pb_begin(g->w, GRAPH_INITIALIZER);
    for (int i = 0; i < rank; i++)
        nn_pb_varint(g->w, TENSOR_DIMS, (uint64_t)dims[i]);
    nn_pb_varint(g->w, TENSOR_TYPE, (uint64_t)type);
    nn_pb_string(g->w, TENSOR_NAME, name);
    nn_pb_bytes(g->w, TENSOR_RAW, raw, bytes);
    nn_pb_end(g->w, mark);
}

static void init_floats(qgraph *g, const char *name, const int *dims,
                        int rank, const float *x, size_t n)
{
    size_t mark = nn_pb_begin(g->w, GRAPH_INITIALIZER);
    for (int i = 0; i < rank; i++)
        nn_pb_varint(g->w, TENSOR_DIMS, (uint64_t)dims[i]);
    nn_pb_varint(g->w, TENSOR_TYPE, T_FLOAT);
    nn_pb_string(g->w, TENSOR_NAME, name);
    nn_pb_floats(g->w, TENSOR_RAW, x, n);
    nn_pb_end(g->w, mark);
}

/* int32 or int64 values as little-endian bytes into a new buffer. */
static unsigned char *le_ints(const int64_t *v, size_t n, int bytes)
{
    unsigned char *raw = malloc(n * (size_t)bytes + 1);
    if (!raw)
        return NULL;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < bytes; b++)
            raw[i * (size_t)bytes + (size_t)b] =
                (unsigned char)((uint64_t)v[i] >> (8 * b));
    return raw;
}

/* An int32 (bytes 4) or int64 (bytes 8) initializer; the writer fails
 * when memory runs out. */
static void init_ints(qgraph *g, const char *name, int type, const int *dims,
                      int rank, const int64_t *v, size_t n)
{
    int bytes = type == T_INT64 ? 8 : 4;
    unsigned char *raw = le_ints(v, n, bytes);
    if (!raw) {
        g->w->failed = 1;
        return;
    }
    init_raw(g, name, type, dims, rank, raw, n * (size_t)bytes);
    free(raw);
}

/* Starts a node: op_type over inputs into output, named after output. */
static size_t node(qgraph *g, const char *op, const char *const *inputs,
                   int n, const char *output)
{
    size_t mark = nn_pb_begin(g->w, GRAPH_NODE);
    char name[600]; /* op_ + an output name of up to 511 bytes */
    for (int i = 0; i < n; i++)
        nn_pb_string(g->w, NODE_INPUT, inputs[i]);
    nn_pb_string(g->w, NODE_OUTPUT, output);
    snprintf(name, sizeof name, "%s_%s", op, output);
    nn_pb_string(g->w, NODE_NAME, name);
    nn_pb_string(g->w, NODE_OP, op);
    return mark;
}

static void node_end(qgraph *g, size_t mark)
{
    nn_pb_end(g->w, mark);
}

/* The name of uint8 tensor t, and of its scale and zero point. */
static void qname(int t, const char *what, char *buf, size_t size)
{
    snprintf(buf, size, "q%d%s", t, what);
}

/* Tensor t's scale and zero point as scalar initializers. */
static void tensor_params(qgraph *g, int t)
{
    char name[64];
    float scale = g->q->tensors[t].scale;
    unsigned char zero = (unsigned char)g->q->tensors[t].zero_point;
    qname(t, "_scale", name, sizeof name);
    init_floats(g, name, NULL, 0, &scale, 1);
    qname(t, "_zero_point", name, sizeof name);
    init_raw(g, name, T_UINT8, NULL, 0, &zero, 1);
}

/* DequantizeLinear of uint8 tensor t into float `out`. */
static void dequantize(qgraph *g, int t, const char *out)
{
    char x[64], s[64], z[64];
    const char *in[3] = {x, s, z};
    qname(t, "", x, sizeof x);
    qname(t, "_scale", s, sizeof s);
    qname(t, "_zero_point", z, sizeof z);
    node_end(g, node(g, "DequantizeLinear", in, 3, out));
}

/* QuantizeLinear of float `x` into uint8 tensor t. */
static void quantize(qgraph *g, const char *x, int t)
{
    char y[64], s[64], z[64];
    const char *in[3] = {x, s, z};
    qname(t, "", y, sizeof y);
    qname(t, "_scale", s, sizeof s);
    qname(t, "_zero_point", z, sizeof z);
    node_end(g, node(g, "QuantizeLinear", in, 3, y));
}

/* The float `x` (tensor t's values before clamping) into tensor t, with
 * the clamp [lo, hi] of the op: a Relu when lo is the zero point, a Clip
 * for any other narrower range, nothing when QuantizeLinear's saturation
 * to [0, 255] is all. */
static void clamp_quantize(qgraph *g, const char *x, int t, int32_t lo,
                           int32_t hi, int op)
{
    const nn_qtensor *y = &g->q->tensors[t];
    char c[64];
    if (lo <= 0 && hi >= 255) {
        quantize(g, x, t);
        return;
    }
    snprintf(c, sizeof c, "op%d_clamped", op);
    if (lo == y->zero_point && hi >= 255) {
        node_end(g, node(g, "Relu", &x, 1, c));
    } else {
        char mn[64], mx[64];
        const char *in[3] = {x, mn, mx};
        float lo_real = y->scale * (float)(lo - y->zero_point);
        float hi_real = y->scale * (float)(hi - y->zero_point);
        snprintf(mn, sizeof mn, "op%d_min", op);
        snprintf(mx, sizeof mx, "op%d_max", op);
        init_floats(g, mn, NULL, 0, &lo_real, 1);
        init_floats(g, mx, NULL, 0, &hi_real, 1);
        node_end(g, node(g, "Clip", in, 3, c));
    }
    quantize(g, c, t);
}

/* Tensor t as an NCHW tensor: its name, or a Reshape of a rank-2 tensor
 * to (N, C, 1, 1) (uint8). */
static const char *as_nchw(qgraph *g, int t, char *buf, size_t size)
{
    qname(t, "", buf, size);
    if (g->rank[t] == 2) {
        char shape[64], out[64];
        const char *in[2] = {buf, shape};
        int64_t dims[4] = {0, g->q->tensors[t].c, 1, 1};
        int four = 4;
        qname(t, "_nchw_shape", shape, sizeof shape);
        qname(t, "_nchw", out, sizeof out);
        if (!g->nchw[t]) {
            init_ints(g, shape, T_INT64, &four, 1, dims, 4);
            node_end(g, node(g, "Reshape", in, 2, out));
            g->nchw[t] = 1;
        }
        snprintf(buf, size, "%s", out);
    }
    return buf;
}

/* Op i's int8 weights (dims) "op<i>_w", their per-channel scales (1-D),
 * and the float weights "op<i>_wf" as their DequantizeLinear (axis 0);
 * with bias_float, the int32 bias (out_c) and "op<i>_bf" dequantized at
 * s_in * w_scale (axis 0). */
static void weights(qgraph *g, int i, const int *dims, int rank,
                    int bias_float)
{
    const nn_qconv *c = &g->q->ops[i].conv;
    float s_in = g->q->tensors[g->q->ops[i].from[0]].scale;
    size_t n = (size_t)c->out_c * c->in_c * c->kh * c->kw;
    char w[64], ws[64], wz[64], wf[64];
    const char *in[3] = {w, ws, wz};
    int8_t *zeros = calloc((size_t)c->out_c, 1);
    int64_t *bias = malloc((size_t)c->out_c * sizeof *bias);
    float *bias_scale = malloc((size_t)c->out_c * sizeof *bias_scale);
    size_t mark;
    if (!zeros || !bias || !bias_scale) {
        g->w->failed = 1;
        free(zeros);
        free(bias);
        free(bias_scale);
        return;
    }
    snprintf(w, sizeof w, "op%d_w", i);
    snprintf(ws, sizeof ws, "op%d_w_scale", i);
    snprintf(wz, sizeof wz, "op%d_w_zero_point", i);
    init_raw(g, w, T_INT8, dims, rank, c->weight, n);
    init_floats(g, ws, &c->out_c, 1, c->w_scale, (size_t)c->out_c);
    init_raw(g, wz, T_INT8, &c->out_c, 1, zeros, (size_t)c->out_c);
    for (int o = 0; o < c->out_c; o++) {
        bias[o] = c->bias[o];
        bias_scale[o] = (float)((double)s_in * c->w_scale[o]);
    }
    {
        char b[64];
        snprintf(b, sizeof b, "op%d_b", i);
        init_ints(g, b, T_INT32, &c->out_c, 1, bias, (size_t)c->out_c);
    }
    if (bias_float) {
        char b[64], bs[64], bf[64];
        const char *bin[2] = {b, bs};
        snprintf(wf, sizeof wf, "op%d_wf", i);
        mark = node(g, "DequantizeLinear", in, 3, wf);
        nn_onnx_attr_int(&g->g, "axis", 0);
        node_end(g, mark);
        snprintf(b, sizeof b, "op%d_b", i);
        snprintf(bs, sizeof bs, "op%d_b_scale", i);
        snprintf(bf, sizeof bf, "op%d_bf", i);
        init_floats(g, bs, &c->out_c, 1, bias_scale, (size_t)c->out_c);
        mark = node(g, "DequantizeLinear", bin, 2, bf);
        nn_onnx_attr_int(&g->g, "axis", 0);
        node_end(g, mark);
    }
    free(zeros);
    free(bias);
    free(bias_scale);
}

/* The float output of op i when it is the last one and gives logits. */
static void last_name(const qgraph *g, char *buf, size_t size)
{
    snprintf(buf, size, "%s", g->softmax ? "logits" : "output");
}

/* ------------------------------------------------------------ the ops */

static void conv_attrs(qgraph *g, const nn_qconv *c)
{
    int kernel[2] = {c->kh, c->kw}, strides[2] = {c->stride, c->stride};
    int pads[4] = {c->pad, c->pad, c->pad, c->pad};
    nn_onnx_attr_ints(&g->g, "kernel_shape", kernel, 2);
    nn_onnx_attr_ints(&g->g, "strides", strides, 2);
    nn_onnx_attr_ints(&g->g, "pads", pads, 4);
}

static void export_conv(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    const nn_qconv *c = &op->conv;
    int dims[4] = {c->out_c, c->in_c, c->kh, c->kw}, t = op->from[0];
    char x[64], xs[64], xz[64], w[64], ws[64], wz[64], y[64], ys[64], yz[64],
        b[64];
    size_t mark;
    as_nchw(g, t, x, sizeof x);
    if (c->int32_out) {
        char xf[64], wf[64], bf[64];
        const char *in[3] = {xf, wf, bf};
        weights(g, i, dims, 4, 1);
        snprintf(xf, sizeof xf, "op%d_x", i);
        snprintf(wf, sizeof wf, "op%d_wf", i);
        snprintf(bf, sizeof bf, "op%d_bf", i);
        {
            char s[64], z[64];
            const char *din[3] = {x, s, z};
            qname(t, "_scale", s, sizeof s);
            qname(t, "_zero_point", z, sizeof z);
            node_end(g, node(g, "DequantizeLinear", din, 3, xf));
        }
        last_name(g, y, sizeof y);
        mark = node(g, "Conv", in, 3, y);
        conv_attrs(g, c);
        node_end(g, mark);
        g->rank[i + 1] = 4;
        return;
    }
    weights(g, i, dims, 4, 0);
    qname(t, "_scale", xs, sizeof xs);
    qname(t, "_zero_point", xz, sizeof xz);
    snprintf(w, sizeof w, "op%d_w", i);
    snprintf(ws, sizeof ws, "op%d_w_scale", i);
    snprintf(wz, sizeof wz, "op%d_w_zero_point", i);
    qname(i + 1, "_scale", ys, sizeof ys);
    qname(i + 1, "_zero_point", yz, sizeof yz);
    snprintf(b, sizeof b, "op%d_b", i);
    if (c->lo <= 0 && c->hi >= 255)
        qname(i + 1, "", y, sizeof y);
    else
        snprintf(y, sizeof y, "op%d_unclamped", i);
    {
        const char *in[9] = {x, xs, xz, w, ws, wz, ys, yz, b};
        mark = node(g, "QLinearConv", in, 9, y);
        conv_attrs(g, c);
        node_end(g, mark);
    }
    if (!(c->lo <= 0 && c->hi >= 255)) {
        /* the clamp on the dequantized output, then the same scale */
        char yf[64], s[64], z[64];
        const char *din[3] = {y, s, z};
        snprintf(yf, sizeof yf, "op%d_y", i);
        qname(i + 1, "_scale", s, sizeof s);
        qname(i + 1, "_zero_point", z, sizeof z);
        node_end(g, node(g, "DequantizeLinear", din, 3, yf));
        clamp_quantize(g, yf, i + 1, c->lo, c->hi, i);
    }
    g->rank[i + 1] = 4;
}

static void export_dense(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    const nn_qconv *c = &op->conv;
    int dims[2] = {c->out_c, c->in_c}, t = op->from[0];
    char xf[64], flat[64], wf[64], bf[64], y[64];
    const char *in[3] = {flat, wf, bf};
    const char *x = flat;
    size_t mark;
    weights(g, i, dims, 2, 1);
    snprintf(xf, sizeof xf, "op%d_x", i);
    snprintf(flat, sizeof flat, "op%d_flat", i);
    snprintf(wf, sizeof wf, "op%d_wf", i);
    snprintf(bf, sizeof bf, "op%d_bf", i);
    dequantize(g, t, xf);
    if (g->rank[t] == 2)
        snprintf(flat, sizeof flat, "%s", xf);
    else {
        x = xf;
        mark = node(g, "Flatten", &x, 1, flat);
        nn_onnx_attr_int(&g->g, "axis", 1);
        node_end(g, mark);
    }
    if (c->int32_out)
        last_name(g, y, sizeof y);
    else
        snprintf(y, sizeof y, "op%d_y", i);
    mark = node(g, "Gemm", in, 3, y);
    nn_onnx_attr_int(&g->g, "transB", 1);
    node_end(g, mark);
    if (!c->int32_out)
        clamp_quantize(g, y, i + 1, c->lo, c->hi, i);
    g->rank[i + 1] = 2;
}

/* y = x * dequantized weight[c] + dequantized bias[c], per channel */
static void export_affine(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    const nn_qconv *c = &op->conv;
    int dims[4] = {c->out_c, 1, 1, 1}, t = op->from[0];
    char xn[64], xf[64], wf[64], bf[64], bshape[64], b3[64], m[64], y[64];
    const char *min[2] = {xf, wf}, *ain[2] = {m, b3}, *rin[2] = {bf, bshape};
    int64_t shape[3] = {c->out_c, 1, 1};
    int three = 3;
    as_nchw(g, t, xn, sizeof xn);
    /* weights (C, 1, 1, 1) dequantized, viewed as (C, 1, 1) by a Reshape
     * of the bias and broadcasting of the weight's trailing 1s */
    weights(g, i, dims, 4, 1);
    snprintf(xf, sizeof xf, "op%d_x", i);
    {
        char s[64], z[64];
        const char *din[3] = {xn, s, z};
        qname(t, "_scale", s, sizeof s);
        qname(t, "_zero_point", z, sizeof z);
        node_end(g, node(g, "DequantizeLinear", din, 3, xf));
    }
    snprintf(wf, sizeof wf, "op%d_wf3", i);
    {
        char w4[64];
        const char *win[2] = {w4, bshape};
        snprintf(w4, sizeof w4, "op%d_wf", i);
        snprintf(bshape, sizeof bshape, "op%d_shape", i);
        init_ints(g, bshape, T_INT64, &three, 1, shape, 3);
        node_end(g, node(g, "Reshape", win, 2, wf));
    }
    snprintf(bf, sizeof bf, "op%d_bf", i);
    snprintf(b3, sizeof b3, "op%d_bf3", i);
    node_end(g, node(g, "Reshape", rin, 2, b3));
    snprintf(m, sizeof m, "op%d_scaled", i);
    node_end(g, node(g, "Mul", min, 2, m));
    snprintf(y, sizeof y, "op%d_y", i);
    node_end(g, node(g, "Add", ain, 2, y));
    clamp_quantize(g, y, i + 1, c->lo, c->hi, i);
    g->rank[i + 1] = 4;
}

static void pool_attrs(qgraph *g, const nn_qpool *p, int average)
{
    int kernel[2] = {p->kh, p->kw}, strides[2] = {p->stride, p->stride};
    int pads[4] = {p->pad, p->pad, p->pad, p->pad};
    nn_onnx_attr_ints(&g->g, "kernel_shape", kernel, 2);
    nn_onnx_attr_ints(&g->g, "strides", strides, 2);
    nn_onnx_attr_ints(&g->g, "pads", pads, 4);
    if (p->ceil_mode)
        nn_onnx_attr_int(&g->g, "ceil_mode", 1);
    if (average)
        nn_onnx_attr_int(&g->g, "count_include_pad", !p->exclude_pad);
}

static void export_pool(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    const nn_qpool *p = &op->pool;
    int t = op->from[0];
    char x[64], xf[64], yf[64], y[64];
    const char *in = x;
    size_t mark;
    as_nchw(g, t, x, sizeof x);
    if (op->kind == NN_QOP_MAXPOOL) {
        qname(i + 1, "", y, sizeof y);
        mark = node(g, "MaxPool", &in, 1, y);
        pool_attrs(g, p, 0);
        node_end(g, mark);
    } else {
        char s[64], z[64];
        const char *din[3] = {x, s, z};
        snprintf(xf, sizeof xf, "op%d_x", i);
        snprintf(yf, sizeof yf, "op%d_y", i);
        qname(t, "_scale", s, sizeof s);
        qname(t, "_zero_point", z, sizeof z);
        node_end(g, node(g, "DequantizeLinear", din, 3, xf));
        in = xf;
        mark = node(g, p->global ? "GlobalAveragePool" : "AveragePool", &in,
                    1, yf);
        if (!p->global)
            pool_attrs(g, p, 1);
        node_end(g, mark);
        quantize(g, yf, i + 1);
    }
    g->rank[i + 1] = 4;
}

/* Add or Concat of the dequantized inputs; an input of rank 2 among rank-4
 * ones is reshaped to (N, C, 1, 1) first. */
static void export_join(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    int nchw = 0;
    char xf[NN_MAX_INPUTS][64], acc[64], y[64];
    for (int k = 0; k < op->inputs; k++)
        nchw |= g->rank[op->from[k]] == 4;
    for (int k = 0; k < op->inputs; k++) {
        int t = op->from[k];
        char x[64], s[64], z[64];
        const char *din[3] = {x, s, z};
        if (nchw)
            as_nchw(g, t, x, sizeof x);
        else
            qname(t, "", x, sizeof x);
        qname(t, "_scale", s, sizeof s);
        qname(t, "_zero_point", z, sizeof z);
        snprintf(xf[k], sizeof xf[k], "op%d_x%d", i, k);
        node_end(g, node(g, "DequantizeLinear", din, 3, xf[k]));
    }
    snprintf(y, sizeof y, "op%d_y", i);
    if (op->kind == NN_QOP_CONCAT) {
        const char *in[NN_MAX_INPUTS];
        size_t mark;
        for (int k = 0; k < op->inputs; k++)
            in[k] = xf[k];
        mark = node(g, "Concat", in, op->inputs, y);
        nn_onnx_attr_int(&g->g, "axis", 1);
        node_end(g, mark);
        quantize(g, y, i + 1);
    } else {
        /* a chain of Adds in input order */
        snprintf(acc, sizeof acc, "%s", xf[0]);
        for (int k = 1; k < op->inputs; k++) {
            char out[64];
            const char *in[2] = {acc, xf[k]};
            if (k == op->inputs - 1)
                snprintf(out, sizeof out, "%s", y);
            else
                snprintf(out, sizeof out, "op%d_sum%d", i, k);
            node_end(g, node(g, "Add", in, 2, out));
            snprintf(acc, sizeof acc, "%s", out);
        }
        if (op->inputs == 1) {
            const char *in = xf[0];
            node_end(g, node(g, "Identity", &in, 1, y));
        }
        clamp_quantize(g, y, i + 1, op->join.lo, op->join.hi, i);
    }
    g->rank[i + 1] = nchw ? 4 : 2;
}

/* A slope that reproduces a leaky relu's table (its entries below the
 * input's zero point), the middle of the slopes that do; 0 when none
 * does. */
static int leaky_slope(const nn_qmodel *q, int i, float *slope)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *x = &q->tensors[op->from[0]], *y = &q->tensors[i + 1];
    double lo = 0.0, hi = 1.0;
    int seen = 0;
    for (int v = 0; v < x->zero_point; v++) {
        double real = (double)x->scale * (v - x->zero_point);
        int k = (int)op->lut[v] - y->zero_point;
        double a, b;
        if (op->lut[v] == 0 || op->lut[v] == 255)
            continue;
        /* round(slope real / s_out) = k: slope in [(k + 0.5), (k - 0.5)]
         * s_out / real (real < 0) */
        a = (k + 0.5) * y->scale / real;
        b = (k - 0.5) * y->scale / real;
        lo = a > lo ? a : lo;
        hi = b < hi ? b : hi;
        seen = 1;
    }
    if (!seen || lo > hi)
        return 0;
    *slope = (float)((lo + hi) / 2.0);
    return 1;
}

static void export_lut(qgraph *g, int i)
{
    const nn_qop *op = &g->q->ops[i];
    const char *kind = op->fp32_kind;
    int t = op->from[0];
    char xf[64], yf[64], x[64];
    const char *in = xf;
    float slope = 0.0f;
    size_t mark;
    g->rank[i + 1] = g->rank[t];
    if (!strcmp(kind, "relu") || !strcmp(kind, "sigmoid") ||
        !strcmp(kind, "tanh") ||
        (!strcmp(kind, "leakyrelu") && leaky_slope(g->q, i, &slope))) {
        const char *name = !strcmp(kind, "relu") ? "Relu"
                           : !strcmp(kind, "sigmoid") ? "Sigmoid"
                           : !strcmp(kind, "tanh") ? "Tanh" : "LeakyRelu";
        snprintf(xf, sizeof xf, "op%d_x", i);
        snprintf(yf, sizeof yf, "op%d_y", i);
        dequantize(g, t, xf);
        mark = node(g, name, &in, 1, yf);
        if (!strcmp(name, "LeakyRelu"))
            nn_onnx_attr_float(&g->g, "alpha", slope);
        node_end(g, mark);
        quantize(g, yf, i + 1);
        return;
    }
    {
        /* y = table[x]: Gather of the 256 bytes at x as int32 */
        char table[64], idx[64], y[64];
        const char *gin[2] = {table, idx};
        int n = 256;
        snprintf(table, sizeof table, "op%d_table", i);
        snprintf(idx, sizeof idx, "op%d_index", i);
        qname(t, "", x, sizeof x);
        qname(i + 1, "", y, sizeof y);
        init_raw(g, table, T_UINT8, &n, 1, op->lut, 256);
        in = x;
        mark = node(g, "Cast", &in, 1, idx);
        nn_onnx_attr_int(&g->g, "to", T_INT32);
        node_end(g, mark);
        node_end(g, node(g, "Gather", gin, 2, y));
    }
}

/* ---------------------------------------------------------- the graph */

static nn_status write_graph(qgraph *g, char *msg, size_t msg_size)
{
    const nn_qmodel *q = g->q;
    const nn_qop *last = &q->ops[q->op_count - 1];
    int int32_out = (last->kind == NN_QOP_CONV || last->kind == NN_QOP_DENSE)
                    && last->conv.int32_out;
    size_t graph = nn_pb_begin(g->w, MODEL_GRAPH);
    char out[64];
    nn_pb_string(g->w, GRAPH_NAME, "libnn-int8");
    for (int t = 0; t < q->tensor_count; t++)
        if (t < q->op_count || !int32_out)
            tensor_params(g, t);
    {
        char y[64];
        const char *in[3] = {"input", "q0_scale", "q0_zero_point"};
        qname(0, "", y, sizeof y);
        node_end(g, node(g, "QuantizeLinear", in, 3, y));
    }
    g->rank[0] = 4;
    for (int i = 0; i < q->op_count; i++) {
        const nn_qop *op = &q->ops[i];
        if ((op->kind == NN_QOP_CONV || op->kind == NN_QOP_DENSE) &&
            op->conv.int32_out && i != q->op_count - 1) {
            nn_format_msg(msg, msg_size, "op %d: an int32 output that is "
                          "not the last op", i);
            return NN_EINVAL;
        }
        switch (op->kind) {
        case NN_QOP_CONV:
            export_conv(g, i);
            break;
        case NN_QOP_DENSE:
            export_dense(g, i);
            break;
        case NN_QOP_AFFINE:
            export_affine(g, i);
            break;
        case NN_QOP_MAXPOOL:
        case NN_QOP_AVGPOOL:
            export_pool(g, i);
            break;
        case NN_QOP_ADD:
        case NN_QOP_CONCAT:
            export_join(g, i);
            break;
        case NN_QOP_LUT:
            export_lut(g, i);
            break;
        default:
            nn_format_msg(msg, msg_size, "op %d: kind %d has no ONNX form", i,
                          (int)op->kind);
            return NN_EINVAL;
        }
    }
    last_name(g, out, sizeof out);
    if (!int32_out)
        dequantize(g, q->op_count, out);
    {
        const nn_qtensor *o = &q->tensors[q->op_count];
        int rank = g->rank[q->op_count];
        int in_dims[4] = {-1, q->in_c, q->in_h, q->in_w};
        int out_dims[4] = {-1, rank == 2 ? o->c * o->h * o->w : o->c, o->h,
                           o->w};
        if (g->softmax) {
            const char *x = "logits";
            if (rank != 2) {
                size_t mark = node(g, "Flatten", &x, 1, "flat_logits");
                nn_onnx_attr_int(&g->g, "axis", 1);
                node_end(g, mark);
                x = "flat_logits";
                rank = 2;
                out_dims[1] = o->c * o->h * o->w;
            }
            node_end(g, node(g, "Softmax", &x, 1, "output"));
        }
        nn_onnx_value_info(g->w, GRAPH_INPUT, "input", in_dims, 4);
        nn_onnx_value_info(g->w, GRAPH_OUTPUT, "output", out_dims, rank);
    }
    nn_pb_end(g->w, graph);
    return NN_OK;
}

nn_status nn_qmodel_onnx_save(const nn_qmodel *q, const char *path,
                              unsigned flags, char *msg, size_t msg_size)
{
    nn_pb_writer w;
    qgraph g = {0};
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!q || !path || (flags & ~(unsigned)NN_ONNX_SOFTMAX) ||
        q->op_count < 1 || q->tensor_count != q->op_count + 1) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    g.rank = calloc((size_t)q->tensor_count, sizeof *g.rank);
    g.nchw = calloc((size_t)q->tensor_count, sizeof *g.nchw);
    if (!g.rank || !g.nchw) {
        free(g.rank);
        free(g.nchw);
        nn_format_msg(msg, msg_size, "%s: out of memory", path);
        return NN_ENOMEM;
    }
    g.q = q;
    g.w = &w;
    g.g.graph = &w;
    g.softmax = (flags & NN_ONNX_SOFTMAX) != 0;
    nn_pb_init(&w, QONNX_MAX_BYTES);
    nn_pb_varint(&w, MODEL_IR_VERSION, QONNX_IR_VERSION);
    nn_pb_string(&w, MODEL_PRODUCER, "libnn");
    nn_pb_string(&w, MODEL_PRODUCER_VERSION, nn_version());
    st = write_graph(&g, msg, msg_size);
    free(g.rank);
    free(g.nchw);
    if (st != NN_OK) {
        nn_pb_free(&w);
        return st;
    }
    return nn_onnx_model_end(&w, QONNX_OPSET, q->norm_mean, q->norm_std, path,
                             msg, msg_size);
}
