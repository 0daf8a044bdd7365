/* An int8 model compiled to one C11 source file and its header
 * (nn_qmodel_c_save in nn/quant.h): the weights, int32 biases (zero point
 * folded), multipliers and tables as const arrays, the integer kernels the
 * ops use (qemit_c_kernels.c), and PREFIX_logits calling them in order
 * over working memory laid out by tensor lifetimes (nn_qc_plan). */
#include "qexport/qemit_c.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "nn/advanced.h"
#include "qexport/emit_text.h"

/* ------------------------------------------------------------ the plan */

/* Ops that may write over their first input (same size, read element by
 * element before the element is written). */
static int writes_over_input(const nn_qop *op)
{
    return op->kind == NN_QOP_LUT || op->kind == NN_QOP_ADD ||
           op->kind == NN_QOP_AFFINE;
}

/* The last step reading a tensor held in owner's bytes among tensors
 * [0, before) (-1 when none is read). */
static int last_step(const nn_qmodel *q, const qc_slot *s, int owner,
                     int before)
{
    int last = -1;
    for (int i = 0; i < q->op_count; i++)
        for (int k = 0; k < q->ops[i].inputs; k++) {
            int from = q->ops[i].from[k];
            if (from < before && s[from].owner == owner)
                last = i + 1;
        }
    if (s[q->op_count].owner == owner && q->op_count < before)
        last = q->op_count + 1; /* the dequantization of the output */
    return last;
}

nn_status nn_qc_plan(const nn_qmodel *q, qc_slot **slots, size_t *work_bytes)
{
    int count = q->tensor_count;
    qc_slot *s = calloc((size_t)count, sizeof *s);
    const nn_qop *last_op = &q->ops[q->op_count - 1];
    *slots = NULL;
    *work_bytes = 0;
    if (!s)
        return NN_ENOMEM;
    for (int t = 0; t < count; t++) {
        const nn_qtensor *x = &q->tensors[t];
        s[t].owner = t;
        s[t].size = (size_t)x->c * x->h * x->w;
        if (t == count - 1 && (last_op->kind == NN_QOP_CONV ||
                               last_op->kind == NN_QOP_DENSE) &&
            last_op->conv.int32_out)
            s[t].size = 0;
        if (t > 0 && writes_over_input(&q->ops[t - 1])) {
            int input = s[q->ops[t - 1].from[0]].owner;
            if (last_step(q, s, input, t) == t)
                s[t].owner = input;
        }
    }
    for (int t = 0; t < count; t++)
        if (s[t].owner == t) {
            int last = last_step(q, s, t, count);
            s[t].last_read = last > t ? last : t;
        }
    /* first fit beside the owners before it that are live with it */
    for (int t = 0; t < count; t++) {
        if (s[t].owner != t || s[t].size == 0)
            continue;
        s[t].offset = nn_emit_first_fit(s, t);
        if (s[t].offset + s[t].size > *work_bytes)
            *work_bytes = s[t].offset + s[t].size;
    }
    *slots = s;
    return NN_OK;
}

/* ------------------------------------------------------------ the text */

/* s as text a C comment can hold: at most size - 1 bytes, anything but
 * printable ASCII, and the '/' of a star-slash, made '?'. */
static const char *comment_text(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; s[n] && n + 1 < size; n++) {
        unsigned char c = (unsigned char)s[n];
        out[n] = c < 32 || c > 126 || (c == '/' && n > 0 && s[n - 1] == '*')
                     ? '?' : (char)c;
    }
    out[n] = '\0';
    return out;
}

/* What the emitters of the ops share. */
typedef struct {
    const nn_qmodel *q;
    const char *prefix;   /* of every symbol: "net" */
    qc_slot *slots;       /* where each tensor is */
    nn_text *arrays, *body; /* the const arrays; PREFIX_logits's
                               statements */
    unsigned kernels;     /* bit k: kernel k is called */
    size_t const_bytes;
    char *msg;
    size_t msg_size;
} emit_ctx;

/* Bytes that always hold at's text. */
#define AT_SIZE 48

/* Where tensor t is, as a pointer expression ("work", "work + 12"). */
static const char *at(const emit_ctx *e, int t, size_t extra, char *buf)
{
    size_t offset = e->slots[e->slots[t].owner].offset + extra;
    if (offset)
        snprintf(buf, AT_SIZE, "work + %zu", offset);
    else
        snprintf(buf, AT_SIZE, "work");
    return buf;
}

static size_t tensor_size(const nn_qtensor *t)
{
    return (size_t)t->c * t->h * t->w;
}

/* A float as an exact C literal (hex float) with its f suffix. */
static const char *float_hex(float v, char *buf, size_t size)
{
    snprintf(buf, size, "%af", (double)v);
    return buf;
}

static void use(emit_ctx *e, qc_kernel k)
{
    e->kernels |= 1u << k;
}

/* const arrays of op i's integer weights: PREFIX_op<i>_weight (int8),
 * _bias (int32, the zero point of the input folded in), _mult (int32),
 * _shift (int8), and _acc_scale (float) for an int32 output. */
static nn_status emit_conv_arrays(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qconv *c = &op->conv;
    int32_t z_in = e->q->tensors[op->from[0]].zero_point;
    size_t depth = (size_t)c->in_c * c->kh * c->kw;
    size_t weights = (size_t)c->out_c * depth;
    nn_text *t = e->arrays;
    nn_text_put(t, "static const int8_t %s_op%d_weight[%zu] = {", e->prefix, i, weights);
    for (size_t k = 0; k < weights; k++)
        nn_text_put(t, "%s%d,", k % 16 ? " " : "\n    ", c->weight[k]);
    nn_text_put(t, "\n};\n");
    nn_text_put(t, "static const int32_t %s_op%d_bias[%d] = {", e->prefix, i, c->out_c);
    for (int o = 0; o < c->out_c; o++) {
        int64_t sum = 0, folded;
        for (size_t k = 0; k < depth; k++)
            sum += c->weight[(size_t)o * depth + k];
        folded = (int64_t)c->bias[o] - (int64_t)z_in * sum;
        if (folded > INT32_MAX || folded < -INT32_MAX) {
            nn_format_msg(e->msg, e->msg_size, "op %d: a bias does not fit "
                          "in int32 once the zero point is folded", i);
            return NN_EINVAL;
        }
        nn_text_put(t, "%s%ld,", o % 8 ? " " : "\n    ", (long)folded);
    }
    nn_text_put(t, "\n};\n");
    e->const_bytes += weights + 4 * (size_t)c->out_c;
    if (c->int32_out) {
        char f[48];
        nn_text_put(t, "static const float %s_op%d_acc_scale[%d] = {", e->prefix, i,
            c->out_c);
        for (int o = 0; o < c->out_c; o++) {
            if (!isfinite(c->acc_scale[o])) {
                nn_format_msg(e->msg, e->msg_size, "op %d: acc_scale[%d] is "
                              "not finite", i, o);
                return NN_EINVAL;
            }
            nn_text_put(t, "%s%s,", o % 4 ? " " : "\n    ",
                float_hex(c->acc_scale[o], f, sizeof f));
        }
        nn_text_put(t, "\n};\n");
        e->const_bytes += 4 * (size_t)c->out_c;
        return NN_OK;
    }
    nn_text_put(t, "static const int32_t %s_op%d_mult[%d] = {", e->prefix, i, c->out_c);
    for (int o = 0; o < c->out_c; o++)
        nn_text_put(t, "%s%ld,", o % 8 ? " " : "\n    ", (long)c->requant[o].mult);
    nn_text_put(t, "\n};\n");
    nn_text_put(t, "static const int8_t %s_op%d_shift[%d] = {", e->prefix, i, c->out_c);
    for (int o = 0; o < c->out_c; o++)
        nn_text_put(t, "%s%d,", o % 16 ? " " : "\n    ", (int)c->requant[o].shift);
    nn_text_put(t, "\n};\n");
    e->const_bytes += 5 * (size_t)c->out_c;
    return NN_OK;
}

static nn_status emit_conv(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qconv *c = &op->conv;
    const nn_qtensor *in = &e->q->tensors[op->from[0]];
    const nn_qtensor *out = &e->q->tensors[i + 1];
    char x[AT_SIZE], y[AT_SIZE];
    nn_status st = emit_conv_arrays(e, i);
    const char *p = e->prefix;
    if (st != NN_OK)
        return st;
    if (op->kind == NN_QOP_DENSE && c->int32_out) {
        nn_text_put(e->body, "    dense_logits(%s, %d, %s_op%d_weight, %s_op%d_bias,\n"
                     "                 %s_op%d_acc_scale, logits, %d);\n",
            at(e, op->from[0], 0, x), c->in_c, p, i, p, i, p, i, c->out_c);
        use(e, QC_DENSE_LOGITS);
    } else if (op->kind == NN_QOP_DENSE) {
        nn_text_put(e->body, "    dense_q(%s, %d, %s_op%d_weight, %s_op%d_bias, %s_op%d_mult,\n"
                     "            %s_op%d_shift, %s, %d, %d, %d, %d);\n",
            at(e, op->from[0], 0, x), c->in_c, p, i, p, i, p, i, p, i,
            at(e, i + 1, 0, y), c->out_c, out->zero_point, c->lo, c->hi);
        use(e, QC_DENSE);
    } else if (c->int32_out) {
        nn_text_put(e->body, "    conv_logits(%s, %d, %d, %d, %d, %s_op%d_weight,\n"
                     "                %s_op%d_bias, %s_op%d_acc_scale, logits,\n"
                     "                %d, %d, %d, %d, %d, %d, %d);\n",
            at(e, op->from[0], 0, x), in->c, in->h, in->w, in->zero_point, p,
            i, p, i, p, i, c->out_c, out->h, out->w, c->kh, c->kw, c->stride,
            c->pad);
        use(e, QC_CONV_LOGITS);
    } else {
        nn_text_put(e->body, "    conv_q(%s, %d, %d, %d, %d, %s_op%d_weight, %s_op%d_bias,\n"
                     "           %s_op%d_mult, %s_op%d_shift, %s, %d, %d, %d,\n"
                     "           %d, %d, %d, %d, %d, %d, %d);\n",
            at(e, op->from[0], 0, x), in->c, in->h, in->w, in->zero_point, p,
            i, p, i, p, i, p, i, at(e, i + 1, 0, y), c->out_c, out->h, out->w,
            out->zero_point, c->lo, c->hi, c->kh, c->kw, c->stride, c->pad);
        use(e, QC_CONV);
    }
    return NN_OK;
}

static nn_status emit_affine(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qtensor *in = &e->q->tensors[op->from[0]];
    const nn_qtensor *out = &e->q->tensors[i + 1];
    char x[AT_SIZE], y[AT_SIZE];
    const char *p = e->prefix;
    nn_status st = emit_conv_arrays(e, i);
    if (st != NN_OK)
        return st;
    nn_text_put(e->body, "    affine_q(%s, %d, %d, %s_op%d_weight, %s_op%d_bias, %s_op%d_mult,\n"
                 "             %s_op%d_shift, %s, %d, %d, %d);\n",
        at(e, op->from[0], 0, x), in->c, in->h * in->w, p, i, p, i, p, i, p,
        i, at(e, i + 1, 0, y), out->zero_point, op->conv.lo, op->conv.hi);
    use(e, QC_AFFINE);
    return NN_OK;
}

static nn_status emit_pool(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qpool *pl = &op->pool;
    const nn_qtensor *in = &e->q->tensors[op->from[0]];
    const nn_qtensor *out = &e->q->tensors[i + 1];
    char x[AT_SIZE], y[AT_SIZE];
    at(e, op->from[0], 0, x);
    at(e, i + 1, 0, y);
    if (op->kind == NN_QOP_AVGPOOL && pl->global && pl->requant) {
        nn_text_put(e->body, "    global_avgpool_rq(%s, %s, %d, %d, %d, %ld, %d, %d);\n",
            x, y, in->c, in->h * in->w, in->zero_point, (long)pl->mul.mult,
            (int)pl->mul.shift, out->zero_point);
        use(e, QC_GLOBAL_AVGPOOL_RQ);
    } else if (op->kind == NN_QOP_AVGPOOL && pl->global) {
        nn_text_put(e->body, "    global_avgpool_q(%s, %s, %d, %d, %d);\n", x, y, in->c,
            in->h * in->w, in->zero_point);
        use(e, QC_GLOBAL_AVGPOOL);
    } else {
        nn_text_put(e->body, "    %s(%s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d",
            op->kind == NN_QOP_MAXPOOL ? "maxpool_q" : "avgpool_q", x, y,
            in->c, in->h, in->w, out->h, out->w, pl->kh, pl->kw, pl->stride,
            pl->pad);
        if (op->kind == NN_QOP_MAXPOOL)
            nn_text_put(e->body, ");\n");
        else
            nn_text_put(e->body, ",\n              %d, %d);\n", pl->exclude_pad,
                in->zero_point);
        use(e, op->kind == NN_QOP_MAXPOOL ? QC_MAXPOOL : QC_AVGPOOL);
    }
    return NN_OK;
}

/* y[i] = clamp(z_out + requant(sum of add_term(x_k[i]), out), lo, hi) */
static nn_status emit_add(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qjoin *j = &op->join;
    const nn_qtensor *out = &e->q->tensors[i + 1];
    char x[AT_SIZE];
    nn_text_put(e->body, "    for (int i = 0; i < %zu; i++) {\n        int32_t sum =",
        tensor_size(out));
    for (int k = 0; k < op->inputs; k++)
        nn_text_put(e->body, "%s\n            add_term((%s)[i], %d, %ld, %d)",
            k ? " +" : "", at(e, op->from[k], 0, x),
            e->q->tensors[op->from[k]].zero_point, (long)j->in[k].mult,
            (int)j->in[k].shift);
    nn_text_put(e->body, ";\n        (%s)[i] = (uint8_t)clamp32(%d + requant(sum, %ld, "
                 "%d), %d, %d);\n    }\n",
        at(e, i + 1, 0, x), out->zero_point, (long)j->out.mult,
        (int)j->out.shift, j->lo, j->hi);
    use(e, QC_ADD);
    return NN_OK;
}

/* Each input's channels after the previous ones, copied or rescaled. */
static nn_status emit_concat(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qtensor *out = &e->q->tensors[i + 1];
    char x[AT_SIZE], y[AT_SIZE];
    size_t offset = 0;
    for (int k = 0; k < op->inputs; k++) {
        const nn_qtensor *in = &e->q->tensors[op->from[k]];
        at(e, op->from[k], 0, x);
        at(e, i + 1, offset, y);
        if (op->join.in_same[k]) {
            nn_text_put(e->body, "    copy_q(%s, %zu, %s);\n", x, tensor_size(in), y);
            use(e, QC_COPY);
        } else {
            nn_text_put(e->body, "    rescale_q(%s, %zu, %d, %ld, %d, %d, %s);\n", x,
                tensor_size(in), in->zero_point, (long)op->join.in[k].mult,
                (int)op->join.in[k].shift, out->zero_point, y);
            use(e, QC_RESCALE);
        }
        offset += tensor_size(in);
    }
    return NN_OK;
}

static nn_status emit_lut(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    char x[AT_SIZE], y[AT_SIZE];
    nn_text_put(e->arrays, "static const uint8_t %s_op%d_lut[256] = {", e->prefix, i);
    for (int k = 0; k < 256; k++)
        nn_text_put(e->arrays, "%s%d,", k % 16 ? " " : "\n    ", op->lut[k]);
    nn_text_put(e->arrays, "\n};\n");
    e->const_bytes += 256;
    nn_text_put(e->body, "    lut_q(%s, %zu, %s_op%d_lut, %s);\n",
        at(e, op->from[0], 0, x), tensor_size(&e->q->tensors[i + 1]),
        e->prefix, i, at(e, i + 1, 0, y));
    use(e, QC_LUT);
    return NN_OK;
}

/* The op kinds and what they write. */
static nn_status emit_op(emit_ctx *e, int i)
{
    const nn_qop *op = &e->q->ops[i];
    const nn_qtensor *out = &e->q->tensors[i + 1];
    if (op->inputs < 1 || op->inputs > NN_MAX_INPUTS) {
        nn_format_msg(e->msg, e->msg_size, "op %d: %d inputs", i, op->inputs);
        return NN_EINVAL;
    }
    for (int k = 0; k < op->inputs; k++)
        if (op->from[k] < 0 || op->from[k] > i) {
            nn_format_msg(e->msg, e->msg_size, "op %d reads tensor %d", i,
                          op->from[k]);
            return NN_EINVAL;
        }
    if ((op->kind == NN_QOP_CONV || op->kind == NN_QOP_DENSE) &&
        op->conv.int32_out && i != e->q->op_count - 1) {
        nn_format_msg(e->msg, e->msg_size, "op %d: an int32 output that is "
                      "not the last op", i);
        return NN_EINVAL;
    }
    char kind[sizeof op->fp32_kind];
    memcpy(kind, op->fp32_kind, sizeof kind);
    kind[sizeof kind - 1] = '\0';
    nn_text_put(e->body, "    /* op %d %s (%s): (%d, %d, %d) */\n", i,
        comment_text(kind, kind, sizeof kind),
        op->kind == NN_QOP_CONV ? "conv" : op->kind == NN_QOP_DENSE ? "dense"
        : op->kind == NN_QOP_AFFINE ? "affine" : op->kind == NN_QOP_MAXPOOL
        ? "maxpool" : op->kind == NN_QOP_AVGPOOL ? "avgpool" : op->kind ==
        NN_QOP_ADD ? "add" : op->kind == NN_QOP_CONCAT ? "concat" : "lut",
        out->c, out->h, out->w);
    switch (op->kind) {
    case NN_QOP_CONV:
    case NN_QOP_DENSE:
        return emit_conv(e, i);
    case NN_QOP_AFFINE:
        return emit_affine(e, i);
    case NN_QOP_MAXPOOL:
    case NN_QOP_AVGPOOL:
        return emit_pool(e, i);
    case NN_QOP_ADD:
        return emit_add(e, i);
    case NN_QOP_CONCAT:
        return emit_concat(e, i);
    case NN_QOP_LUT:
        return emit_lut(e, i);
    }
    nn_format_msg(e->msg, e->msg_size, "op %d: kind %d has no C code", i,
                  (int)op->kind);
    return NN_EINVAL;
}

/* --------------------------------------------------------- the files */

static void write_header(nn_text *h, const char *stem, const char *prefix,
                         const char *macro, const char *source,
                         const nn_qmodel *q, const nn_qmodel_c_sizes *sizes)
{
    char m[3][32], s[3][32], spec[1024], calibration[64];
    nn_text_put(h, "/* %s.h: the int8 model %s compiled to C by libnn's nn_convert;\n"
           " * do not edit. From: %s (calibration: %s)\n"
           " * One C11 file (%s.c) without libnn, allocation, stdio or any\n"
           " * variable at file scope: integer weights as const arrays, the\n"
           " * caller gives the working memory. Link with -lm. */\n"
           "#ifndef %s_H\n#define %s_H\n\n"
           "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
        stem, source, comment_text(q->spec, spec, sizeof spec),
        comment_text(q->calibration, calibration, sizeof calibration), stem,
        macro, macro);
    nn_text_put(h, "/* One input sample: (channels, height, width), row-major. */\n"
           "#define %s_IN_C %d\n#define %s_IN_H %d\n#define %s_IN_W %d\n"
           "#define %s_IN_FLOATS %zu\n"
           "/* Outputs: logits or probabilities. */\n#define %s_CLASSES %zu\n"
           "/* Bytes of the working memory each call needs. */\n"
           "#define %s_WORK_BYTES %zu\n"
           "/* Bytes of the const arrays (weights, biases, multipliers,\n"
           " * tables). */\n"
           "#define %s_CONST_BYTES %zu\n\n",
        macro, q->in_c, macro, q->in_h, macro, q->in_w, macro,
        sizes->in_floats, macro, sizes->classes, macro, sizes->work_bytes,
        macro, sizes->const_bytes);
    nn_text_put(h, "/* The input is what libnn's nn_qmodel_logits reads: pixels v in\n"
           " * [0, 255] of channel k become (v / 255 - mean[k]) / std[k] with\n"
           " * the model's normalisation: */\n"
           "#define %s_INPUT_MEAN {%s, %s, %s}\n"
           "#define %s_INPUT_STD {%s, %s, %s}\n\n",
        macro, nn_text_float_literal(q->norm_mean[0], m[0], 32),
        nn_text_float_literal(q->norm_mean[1], m[1], 32),
        nn_text_float_literal(q->norm_mean[2], m[2], 32), macro,
        nn_text_float_literal(q->norm_std[0], s[0], 32),
        nn_text_float_literal(q->norm_std[1], s[1], 32),
        nn_text_float_literal(q->norm_std[2], s[2], 32));
    nn_text_put(h, "/* logits (%s_CLASSES) <- the int8 model's logits for in\n"
           " * (%s_IN_FLOATS), as nn_qmodel_logits gives them, bit for bit;\n"
           " * work: %s_WORK_BYTES bytes of scratch, reused by every call\n"
           " * (one per thread); logits must not overlap in or work. */\n"
           "void %s_logits(const float *in, float *logits, unsigned char *work);\n"
           "/* probs (%s_CLASSES) <- softmax of %s_logits, as\n"
           " * nn_qmodel_predict gives them. */\n"
           "void %s_predict(const float *in, float *probs, unsigned char *work);\n\n"
           "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H */\n",
        macro, macro, macro, prefix, macro, prefix, prefix, macro);
}

/* The statements that turn the last tensor into float logits. */
static void emit_output(emit_ctx *e)
{
    const nn_qmodel *q = e->q;
    const nn_qop *last = &q->ops[q->op_count - 1];
    const nn_qtensor *t = &q->tensors[q->op_count];
    char x[AT_SIZE], f[48];
    if ((last->kind == NN_QOP_CONV || last->kind == NN_QOP_DENSE) &&
        last->conv.int32_out)
        return;
    nn_text_put(e->body, "    dequantize(%s, %zu, %s, %d, logits);\n",
        at(e, q->op_count, 0, x), tensor_size(t),
        float_hex(t->scale, f, sizeof f), t->zero_point);
    use(e, QC_DEQUANTIZE);
}

static nn_status write_source(emit_ctx *e, nn_text *c, const char *stem,
                              const char *source, size_t classes)
{
    const nn_qmodel *q = e->q;
    char f[48];
    nn_status st = NN_OK;
    nn_text_put(e->body, "    /* the input, quantized: (%d, %d, %d) */\n"
                 "    quantize(in, %zu, %s, %d, %s);\n",
        q->in_c, q->in_h, q->in_w, tensor_size(&q->tensors[0]),
        float_hex(q->tensors[0].scale, f, sizeof f), q->tensors[0].zero_point,
        e->slots[0].offset ? "work + 0" : "work");
    use(e, QC_QUANTIZE);
    for (int i = 0; i < q->op_count && st == NN_OK; i++)
        st = emit_op(e, i);
    if (st != NN_OK)
        return st;
    emit_output(e);
    for (int k = 0; k < QC_COUNT; k++)
        if (e->kernels & 1u << k)
            e->kernels |= nn_qc_kernel_needs((qc_kernel)k);
    nn_text_put(c, "/* %s.c: the int8 model %s compiled to C by libnn's nn_convert;\n"
           " * do not edit. Integer ops as src/quant/qmodel.h defines them.\n"
           " * (%s.h: what the functions expect.) */\n"
           "#include \"%s.h\"\n\n#include <math.h>\n#include <stdint.h>\n\n",
        stem, source, stem, stem);
    nn_text_put(c, "%s\n", e->arrays->data ? e->arrays->data : "");
    for (int k = 0; k < QC_COUNT; k++)
        if (e->kernels & 1u << k)
            nn_text_put(c, "%s\n", nn_qc_kernel_text((qc_kernel)k));
    nn_text_put(c, "void %s_logits(const float *in, float *logits, unsigned char *work)\n"
           "{\n%s}\n\n",
        e->prefix, e->body->data ? e->body->data : "");
    nn_text_put(c, "void %s_predict(const float *in, float *probs, unsigned char *work)\n"
           "{\n"
           "    float max, sum = 0.0f;\n"
           "    %s_logits(in, probs, work);\n"
           "    max = probs[0];\n"
           "    for (int k = 1; k < %zu; k++)\n"
           "        max = probs[k] > max ? probs[k] : max;\n"
           "    for (int k = 0; k < %zu; k++) {\n"
           "        probs[k] = expf(probs[k] - max);\n"
           "        sum += probs[k];\n"
           "    }\n"
           "    for (int k = 0; k < %zu; k++)\n"
           "        probs[k] /= sum;\n"
           "}\n",
        e->prefix, e->prefix, classes, classes, classes);
    return NN_OK;
}

nn_status nn_qmodel_c_save(const nn_qmodel *q, const char *path,
                           const char *source, nn_qmodel_c_sizes *sizes,
                           char *msg, size_t msg_size)
{
    char prefix[64], macro[64], header[4096], stem[256], source_text[256];
    const char *name;
    nn_text c = {0}, h = {0}, arrays = {0}, body = {0};
    size_t len, work_bytes = 0;
    nn_qmodel_c_sizes got = {0};
    emit_ctx e = {.q = q, .prefix = prefix, .arrays = &arrays, .body = &body,
                  .msg = msg, .msg_size = msg_size};
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!q || !path || q->op_count < 1 || q->tensor_count != q->op_count + 1) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    len = strlen(path);
    if (len < 2 || len + 1 > sizeof header || strcmp(path + len - 2, ".c")) {
        nn_format_msg(msg, msg_size, "%s: the C file's name must end in .c",
                      path);
        return NN_EINVAL;
    }
    name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strlen(name) + 1 > sizeof stem || strpbrk(name, "\"\\\n")) {
        nn_format_msg(msg, msg_size, "%s: a C file's name must be shorter "
                      "than %zu bytes, without quotes or backslashes", path,
                      sizeof stem);
        return NN_EINVAL;
    }
    memcpy(stem, name, strlen(name) - 2);
    stem[strlen(name) - 2] = '\0';
    nn_text_prefix(name, prefix, sizeof prefix);
    nn_text_upper(prefix, macro, sizeof macro);
    memcpy(header, path, len + 1);
    header[len - 1] = 'h';
    source = source ? source : "(an int8 model)";
    source = strrchr(source, '/') ? strrchr(source, '/') + 1 : source;
    source = comment_text(source, source_text, sizeof source_text);
    if (nn_qc_plan(q, &e.slots, &work_bytes) != NN_OK) {
        nn_format_msg(msg, msg_size, "out of memory");
        return NN_ENOMEM;
    }
    got.in_floats = tensor_size(&q->tensors[0]);
    got.classes = tensor_size(&q->tensors[q->op_count]);
    got.work_bytes = work_bytes;
    st = write_source(&e, &c, stem, source, got.classes);
    got.const_bytes = e.const_bytes;
    if (st == NN_OK) {
        write_header(&h, stem, prefix, macro, source, q, &got);
        if (c.failed || h.failed || arrays.failed || body.failed) {
            nn_format_msg(msg, msg_size, "out of memory");
            st = NN_ENOMEM;
        }
    }
    if (st == NN_OK)
        st = nn_write_file_atomic(header, h.data, h.len, msg, msg_size);
    if (st == NN_OK)
        st = nn_write_file_atomic(path, c.data, c.len, msg, msg_size);
    if (st == NN_OK && sizes)
        *sizes = got;
    free(e.slots);
    free(c.data);
    free(h.data);
    free(arrays.data);
    free(body.data);
    return st;
}
