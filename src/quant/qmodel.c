/* Making, checking, preparing and freeing int8 models (src/quant/quant.h).
 * The check is the loader's: after it says yes, running the model reads and
 * writes only inside its buffers and no int32 sum overflows. */
#include "quant/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "quant/qmath.h"
#include "quant/qrun.h"

nn_qmodel *nn_qmodel_new(int op_count)
{
    nn_qmodel *q;
    if (op_count < 1 || op_count > NN_QMAX_OPS)
        return NULL;
    if (!(q = calloc(1, sizeof *q)))
        return NULL;
    q->op_count = op_count;
    q->tensor_count = op_count + 1;
    q->ops = calloc((size_t)op_count, sizeof *q->ops);
    q->tensors = calloc((size_t)q->tensor_count, sizeof *q->tensors);
    if (!q->ops || !q->tensors) {
        nn_qmodel_free(q);
        return NULL;
    }
    return q;
}

size_t nn_qconv_depth(const nn_qconv *c)
{
    return (size_t)c->in_c * c->kh * c->kw;
}

nn_status nn_qconv_alloc(nn_qconv *c)
{
    size_t n = (size_t)c->out_c;
    if (c->out_c <= 0 || c->in_c <= 0 || c->kh <= 0 || c->kw <= 0 ||
        nn_qconv_depth(c) > ((size_t)1 << 26) ||
        n * nn_qconv_depth(c) > ((size_t)1 << 30))
        return NN_EINVAL;
    c->weight = calloc(n * nn_qconv_depth(c), 1);
    c->w_scale = calloc(n, sizeof *c->w_scale);
    c->bias = calloc(n, sizeof *c->bias);
    c->bias_folded = calloc(n, sizeof *c->bias_folded);
    c->requant = calloc(n, sizeof *c->requant);
    if (c->int32_out)
        c->acc_scale = calloc(n, sizeof *c->acc_scale);
    return c->weight && c->w_scale && c->bias && c->bias_folded &&
                   c->requant && (!c->int32_out || c->acc_scale)
               ? NN_OK : NN_ENOMEM;
}

static void free_run(nn_qmodel *q)
{
    if (q->run) {
        free(q->run->arena);
        free(q->run);
        q->run = NULL;
    }
}

void nn_qmodel_free(nn_qmodel *q)
{
    if (!q)
        return;
    for (int i = 0; q->ops && i < q->op_count; i++) {
        nn_qconv *c = &q->ops[i].conv;
        free(c->weight);
        free(c->w_scale);
        free(c->bias);
        free(c->bias_folded);
        free(c->requant);
        free(c->acc_scale);
    }
    free_run(q);
    free(q->ops);
    free(q->tensors);
    free(q);
}

/* ----------------------------------------------------------------- check */

static size_t tensor_size(const nn_qtensor *t)
{
    return (size_t)t->c * t->h * t->w;
}

static int same_shape(const nn_qtensor *a, const nn_qtensor *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w;
}

static int same_params(const nn_qtensor *a, const nn_qtensor *b)
{
    return a->scale == b->scale && a->zero_point == b->zero_point;
}

static nn_status check_tensor(const nn_qtensor *t, int i, char *msg,
                              size_t msg_size)
{
    if (!isfinite(t->scale) || !(t->scale > 0.0f) ||
        t->scale < 1e-30f) {
        nn_format_msg(msg, msg_size, "tensor %d: scale %g is not a finite "
                      "positive number", i, (double)t->scale);
        return NN_EFORMAT;
    }
    if (t->zero_point < 0 || t->zero_point > 255) {
        nn_format_msg(msg, msg_size, "tensor %d: zero point %d is not in "
                      "0..255", i, (int)t->zero_point);
        return NN_EFORMAT;
    }
    if (t->c <= 0 || t->h <= 0 || t->w <= 0 || t->c > (1 << 24) ||
        t->h > (1 << 20) || t->w > (1 << 20) ||
        tensor_size(t) > NN_QMAX_TENSOR) {
        nn_format_msg(msg, msg_size, "tensor %d: shape %dx%dx%d is not "
                      "valid", i, t->c, t->h, t->w);
        return NN_EFORMAT;
    }
    return NN_OK;
}

static int bad_clamp(int32_t lo, int32_t hi)
{
    return lo < 0 || hi > 255 || lo > hi;
}

/* Weights, scales, multipliers and the int32 bound of CONV/DENSE/AFFINE. */
static nn_status check_conv(const nn_qmodel *q, int i, char *msg,
                            size_t msg_size)
{
    const nn_qop *op = &q->ops[i];
    const nn_qconv *c = &op->conv;
    const nn_qtensor *in = &q->tensors[op->from[0]], *out = &q->tensors[i + 1];
    size_t depth = nn_qconv_depth(c);
    int out_h = 1, out_w = 1;
    if (!c->weight || !c->w_scale || !c->bias || !c->requant ||
        (c->int32_out && !c->acc_scale)) {
        nn_format_msg(msg, msg_size, "op %d: arrays missing", i);
        return NN_EFORMAT;
    }
    if (op->kind == NN_QOP_CONV) {
        if (c->in_c != in->c || c->stride <= 0 || c->stride > (1 << 20) ||
            c->pad < 0 || c->pad > (1 << 20) ||
            c->kh > in->h + 2 * c->pad || c->kw > in->w + 2 * c->pad) {
            nn_format_msg(msg, msg_size, "op %d (conv): geometry does not fit "
                          "its input %dx%dx%d", i, in->c, in->h, in->w);
            return NN_EFORMAT;
        }
        out_h = (in->h + 2 * c->pad - c->kh) / c->stride + 1;
        out_w = (in->w + 2 * c->pad - c->kw) / c->stride + 1;
    } else if (op->kind == NN_QOP_DENSE) {
        if ((size_t)c->in_c != tensor_size(in) || c->kh != 1 || c->kw != 1) {
            nn_format_msg(msg, msg_size, "op %d (dense): %d inputs, its input "
                          "has %zu values", i, c->in_c, tensor_size(in));
            return NN_EFORMAT;
        }
    } else if (c->in_c != 1 || c->kh != 1 || c->kw != 1 ||
               c->out_c != in->c || c->int32_out) {
        nn_format_msg(msg, msg_size, "op %d (affine): shape does not fit its "
                      "input", i);
        return NN_EFORMAT;
    }
    if (op->kind == NN_QOP_AFFINE ? !same_shape(in, out)
                                  : (out->c != c->out_c || out->h != out_h ||
                                     out->w != out_w)) {
        nn_format_msg(msg, msg_size, "op %d: output shape %dx%dx%d does not "
                      "follow from its input and weights", i, out->c, out->h,
                      out->w);
        return NN_EFORMAT;
    }
    for (size_t k = 0; k < (size_t)c->out_c * depth; k++)
        if (c->weight[k] < -NN_QWEIGHT_MAX) {
            nn_format_msg(msg, msg_size, "op %d: weight %zu is %d, outside "
                          "-127..127", i, k, (int)c->weight[k]);
            return NN_EFORMAT;
        }
    for (int o = 0; o < c->out_c; o++) {
        /* |bias_folded| + 255 * 127 * depth within int32 */
        double bound = fabs((double)c->bias[o]) +
                       (double)in->zero_point * NN_QWEIGHT_MAX * depth +
                       255.0 * NN_QWEIGHT_MAX * depth;
        if (!isfinite(c->w_scale[o]) || !(c->w_scale[o] > 0.0f)) {
            nn_format_msg(msg, msg_size, "op %d: weight scale %d is %g, not a "
                          "finite positive number", i, o,
                          (double)c->w_scale[o]);
            return NN_EFORMAT;
        }
        if (bound > 2147483647.0) {
            nn_format_msg(msg, msg_size, "op %d: channel %d's sums could "
                          "overflow int32", i, o);
            return NN_EFORMAT;
        }
        if (c->int32_out ? (!isfinite(c->acc_scale[o]) ||
                            !(c->acc_scale[o] > 0.0f))
                         : !nn_qmul_valid(c->requant[o])) {
            nn_format_msg(msg, msg_size, "op %d: channel %d's requantization "
                          "(multiplier %d, shift %d) is out of range", i, o,
                          (int)c->requant[o].mult, (int)c->requant[o].shift);
            return NN_EFORMAT;
        }
    }
    if (!c->int32_out && bad_clamp(c->lo, c->hi)) {
        nn_format_msg(msg, msg_size, "op %d: clamp [%d, %d] is not within "
                      "0..255", i, (int)c->lo, (int)c->hi);
        return NN_EFORMAT;
    }
    if (c->int32_out && i != q->op_count - 1) {
        nn_format_msg(msg, msg_size, "op %d: only the last op may output "
                      "int32", i);
        return NN_EFORMAT;
    }
    return NN_OK;
}

static nn_status check_pool(const nn_qmodel *q, int i, char *msg,
                            size_t msg_size)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *in = &q->tensors[op->from[0]], *out = &q->tensors[i + 1];
    const nn_qpool *p = &op->pool;
    if (p->requant ? !p->global || !nn_qmul_valid(p->mul)
                   : !same_params(in, out)) {
        nn_format_msg(msg, msg_size, "op %d (pooling): its output's scale and "
                      "zero point differ from its input's (or its requantization "
                      "is out of range)", i);
        return NN_EFORMAT;
    }
    if ((double)(p->global ? in->h : p->kh) * (p->global ? in->w : p->kw) *
            255.0 > 2147483647.0) {
        nn_format_msg(msg, msg_size, "op %d (pooling): a window's sum could "
                      "overflow int32", i);
        return NN_EFORMAT;
    }
    if (p->global) {
        if (op->kind != NN_QOP_AVGPOOL || out->c != in->c || out->h != 1 ||
            out->w != 1) {
            nn_format_msg(msg, msg_size, "op %d (global pooling): output "
                          "shape is not %dx1x1", i, in->c);
            return NN_EFORMAT;
        }
        return NN_OK;
    }
    nn_pool2d_shape s = {.in_h = in->h, .in_w = in->w, .kh = p->kh,
                         .kw = p->kw, .stride = p->stride, .pad = p->pad,
                         .ceil_mode = p->ceil_mode,
                         .exclude_pad = p->exclude_pad};
    if (nn_pool2d_shape_check(&s) != NN_OK || out->c != in->c ||
        out->h != s.out_h || out->w != s.out_w) {
        nn_format_msg(msg, msg_size, "op %d (pooling): geometry does not fit "
                      "its input and output", i);
        return NN_EFORMAT;
    }
    return NN_OK;
}

static nn_status check_join(const nn_qmodel *q, int i, char *msg,
                            size_t msg_size)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *out = &q->tensors[i + 1];
    const nn_qjoin *j = &op->join;
    int channels = 0;
    for (int t = 0; t < op->inputs; t++) {
        const nn_qtensor *in = &q->tensors[op->from[t]];
        if (op->kind == NN_QOP_ADD ? !same_shape(in, out)
                                   : in->h != out->h || in->w != out->w) {
            nn_format_msg(msg, msg_size, "op %d: input %d's shape does not "
                          "fit", i, t);
            return NN_EFORMAT;
        }
        channels += in->c;
        if (op->kind == NN_QOP_CONCAT && j->in_same[t]
                ? !same_params(in, out) || j->in_same[t] != 1
                : !nn_qmul_valid(j->in[t])) {
            nn_format_msg(msg, msg_size, "op %d: input %d's requantization is "
                          "out of range", i, t);
            return NN_EFORMAT;
        }
    }
    if (op->kind == NN_QOP_CONCAT && channels != out->c) {
        nn_format_msg(msg, msg_size, "op %d (concat): %d channels in, %d out",
                      i, channels, out->c);
        return NN_EFORMAT;
    }
    if (op->kind == NN_QOP_ADD &&
        (!nn_qmul_valid(j->out) || bad_clamp(j->lo, j->hi))) {
        nn_format_msg(msg, msg_size, "op %d (add): output requantization or "
                      "clamp out of range", i);
        return NN_EFORMAT;
    }
    return NN_OK;
}

nn_status nn_qmodel_check(const nn_qmodel *q, char *msg, size_t msg_size)
{
    nn_status st = NN_OK;
    if (!q || q->op_count < 1 || q->op_count > NN_QMAX_OPS ||
        q->tensor_count != q->op_count + 1 || !q->ops || !q->tensors) {
        nn_format_msg(msg, msg_size, "no ops");
        return NN_EFORMAT;
    }
    for (int i = 0; i < q->tensor_count && st == NN_OK; i++)
        st = check_tensor(&q->tensors[i], i, msg, msg_size);
    if (st != NN_OK)
        return st;
    if (q->tensors[0].c != q->in_c || q->tensors[0].h != q->in_h ||
        q->tensors[0].w != q->in_w) {
        nn_format_msg(msg, msg_size, "the input tensor's shape differs from "
                      "the model's input");
        return NN_EFORMAT;
    }
    for (int i = 0; i < q->op_count && st == NN_OK; i++) {
        const nn_qop *op = &q->ops[i];
        int join = op->kind == NN_QOP_ADD || op->kind == NN_QOP_CONCAT;
        if (op->inputs < 1 || op->inputs > NN_MAX_INPUTS ||
            (!join && op->inputs != 1)) {
            nn_format_msg(msg, msg_size, "op %d reads %d tensors", i,
                          op->inputs);
            return NN_EFORMAT;
        }
        for (int t = 0; t < op->inputs; t++)
            if (op->from[t] < 0 || op->from[t] > i) {
                nn_format_msg(msg, msg_size, "op %d reads tensor %d, not an "
                              "earlier one", i, op->from[t]);
                return NN_EFORMAT;
            }
        switch (op->kind) {
        case NN_QOP_CONV:
        case NN_QOP_DENSE:
        case NN_QOP_AFFINE:
            st = check_conv(q, i, msg, msg_size);
            break;
        case NN_QOP_MAXPOOL:
        case NN_QOP_AVGPOOL:
            st = check_pool(q, i, msg, msg_size);
            break;
        case NN_QOP_ADD:
        case NN_QOP_CONCAT:
            st = check_join(q, i, msg, msg_size);
            break;
        case NN_QOP_LUT:
            if (!same_shape(&q->tensors[op->from[0]], &q->tensors[i + 1])) {
                nn_format_msg(msg, msg_size, "op %d (table): shapes differ", i);
                st = NN_EFORMAT;
            }
            break;
        default:
            nn_format_msg(msg, msg_size, "op %d: unknown kind %d", i,
                          (int)op->kind);
            st = NN_EFORMAT;
        }
    }
    if (st == NN_OK &&
        (size_t)q->classes != tensor_size(&q->tensors[q->op_count])) {
        nn_format_msg(msg, msg_size, "%d classes, the last tensor has %zu "
                      "values", q->classes,
                      tensor_size(&q->tensors[q->op_count]));
        st = NN_EFORMAT;
    }
    return st;
}

/* --------------------------------------------------------------- prepare */

/* Bytes rounded up to 64, so every carved buffer stays aligned. */
static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

/* The gemm of op i at max_batch: int16 values of its dense rows (*col),
 * bytes of its conv patches, int32 values of its acc buffer, int16 values
 * of its packed weights (0 when it has none). */
static void gemm_size(const nn_qmodel *q, int i, int max_batch, size_t *col,
                      size_t *patches, size_t *acc, size_t *weights)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *out = &q->tensors[i + 1];
    size_t depth = nn_qconv_depth(&op->conv), out_c = (size_t)op->conv.out_c;
    *col = *patches = *acc = *weights = 0;
    if (op->kind == NN_QOP_CONV) {
        size_t pos16 = (size_t)nn_q_pos16(out->h * out->w);
        size_t depth4 = (size_t)nn_q_depth4((int)depth);
        *patches = depth4 * pos16 + 16;
        *acc = out_c * pos16;
        *weights = 2 * out_c * depth4; /* pairs, then quads */
    } else if (op->kind == NN_QOP_DENSE) {
        size_t depth16 = (size_t)nn_q_depth16(op->conv.in_c);
        *col = (size_t)max_batch * depth16;
        *acc = (size_t)max_batch * out_c;
        *weights = out_c * depth16;
    }
}

nn_status nn_qmodel_prepare(nn_qmodel *q, int max_batch, char *msg,
                            size_t msg_size)
{
    size_t bytes = 0, col = 0, patches = 0, padded = 0, acc = 0;
    size_t classes = (size_t)q->classes;
    int last_int32 = q->ops[q->op_count - 1].conv.int32_out;
    struct nn_qrun *run;
    unsigned char *at;
    if (max_batch < 1 || max_batch > (1 << 20)) {
        nn_format_msg(msg, msg_size, "max batch %d is not in 1..%d",
                      max_batch, 1 << 20);
        return NN_EINVAL;
    }
    free_run(q);
    for (int i = 0; i < q->op_count; i++) {
        nn_qconv *c = &q->ops[i].conv;
        size_t op_col, op_patches, op_acc, weights;
        if (q->ops[i].kind == NN_QOP_CONV || q->ops[i].kind == NN_QOP_DENSE ||
            q->ops[i].kind == NN_QOP_AFFINE) {
            size_t depth = nn_qconv_depth(c);
            int32_t zero = q->tensors[q->ops[i].from[0]].zero_point;
            for (int o = 0; o < c->out_c; o++) {
                int32_t sum = 0;
                for (size_t k = 0; k < depth; k++)
                    sum += c->weight[(size_t)o * depth + k];
                c->bias_folded[o] = c->bias[o] - zero * sum;
            }
        }
        gemm_size(q, i, max_batch, &op_col, &op_patches, &op_acc, &weights);
        col = op_col > col ? op_col : col;
        patches = op_patches > patches ? op_patches : patches;
        if (q->ops[i].kind == NN_QOP_CONV) {
            const nn_qtensor *in = &q->tensors[q->ops[i].from[0]];
            size_t need = nn_q_im2col_scratch(in->c, in->h, in->w, c->pad);
            padded = need > padded ? need : padded;
        }
        acc = op_acc > acc ? op_acc : acc;
        bytes += round64(weights * sizeof(int16_t));
    }
    bytes += round64((size_t)q->tensor_count * sizeof(uint8_t *)) +
             3 * round64((size_t)q->op_count * sizeof(int16_t *));
    for (int t = 0; t < q->tensor_count; t++)
        if (!(t == q->op_count && last_int32))
            bytes += round64(tensor_size(&q->tensors[t]) * (size_t)max_batch);
    bytes += round64(classes * (size_t)max_batch * sizeof(int32_t)) +
             round64(classes * (size_t)max_batch * sizeof(float)) +
             round64(col * sizeof(int16_t)) + round64(patches) +
             round64(patches + 64) +
             round64(padded) +
             round64(acc * sizeof(int32_t));
    if (bytes > ((size_t)1 << 32)) {
        nn_format_msg(msg, msg_size, "the model needs %zu bytes of buffers "
                      "for batches of %d (at most 4 GiB)", bytes, max_batch);
        return NN_EOVERFLOW;
    }
    if (!(run = calloc(1, sizeof *run)) || !(run->arena = calloc(1, bytes))) {
        free(run);
        nn_format_msg(msg, msg_size, "out of memory for %zu bytes", bytes);
        return NN_ENOMEM;
    }
    at = run->arena;
    run->values = (uint8_t **)(void *)at;
    at += round64((size_t)q->tensor_count * sizeof(uint8_t *));
    run->w16 = (int16_t **)(void *)at;
    at += round64((size_t)q->op_count * sizeof(int16_t *));
    run->w2 = (int32_t **)(void *)at;
    at += round64((size_t)q->op_count * sizeof(int32_t *));
    run->w4 = (int32_t **)(void *)at;
    at += round64((size_t)q->op_count * sizeof(int32_t *));
    for (int t = 0; t < q->tensor_count; t++)
        if (!(t == q->op_count && last_int32)) {
            run->values[t] = at;
            at += round64(tensor_size(&q->tensors[t]) * (size_t)max_batch);
        }
    for (int i = 0; i < q->op_count; i++) {
        size_t op_col, op_patches, op_acc, weights;
        nn_qconv *c = &q->ops[i].conv;
        gemm_size(q, i, max_batch, &op_col, &op_patches, &op_acc, &weights);
        if (q->ops[i].kind == NN_QOP_CONV) {
            size_t depth4 = (size_t)nn_q_depth4((int)nn_qconv_depth(c));
            run->w2[i] = (int32_t *)(void *)at;
            nn_q_pack_weight_pairs(c->out_c, (int)nn_qconv_depth(c), c->weight,
                                   run->w2[i]);
            run->w4[i] = run->w2[i] + (size_t)c->out_c * depth4 / 2;
            nn_q_pack_weight_quads(c->out_c, (int)nn_qconv_depth(c), c->weight,
                                   run->w4[i]);
        } else if (q->ops[i].kind == NN_QOP_DENSE) {
            run->w16[i] = (int16_t *)(void *)at;
            nn_q_pack_weights(c->out_c, (int)nn_qconv_depth(c), c->weight,
                              run->w16[i]);
        }
        at += round64(weights * sizeof(int16_t));
    }
    run->logits_acc = (int32_t *)(void *)at;
    at += round64(classes * (size_t)max_batch * sizeof(int32_t));
    run->logits = (float *)(void *)at;
    at += round64(classes * (size_t)max_batch * sizeof(float));
    run->col = (int16_t *)(void *)at;
    at += round64(col * sizeof(int16_t));
    run->patches = at;
    at += round64(patches);
    run->quads = at;
    at += round64(patches + 64);
    run->padded = at;
    at += round64(padded);
    run->acc = (int32_t *)(void *)at;
    run->max_batch = max_batch;
    q->run = run;
    nn_qmodel_set_avx2(q, 1);
    return NN_OK;
}

void nn_qmodel_set_avx2(nn_qmodel *q, int allow)
{
    if (q && q->run) {
        q->run->allow_avx2 = allow != 0;
        q->run->gemm = nn_q_gemm_pick(allow);
        q->run->conv_gemm = nn_q_conv_gemm_pick(allow);
        q->run->requant_plane = nn_q_requant_plane_pick(allow);
        q->run->use_vnni = allow && nn_cpu_has_avxvnni();
        q->run->quantize = nn_q_quantize_pick(allow);
    }
}

int nn_qmodel_classes(const nn_qmodel *q)
{
    return q ? q->classes : 0;
}

int nn_qmodel_max_batch(const nn_qmodel *q)
{
    return q && q->run ? q->run->max_batch : 0;
}

void nn_qmodel_input_shape(const nn_qmodel *q, int *c, int *h, int *w)
{
    *c = q ? q->in_c : 0;
    *h = q ? q->in_h : 0;
    *w = q ? q->in_w : 0;
}

void nn_qmodel_normalization(const nn_qmodel *q, float mean[3], float std[3])
{
    for (int i = 0; i < 3; i++) {
        mean[i] = q ? q->norm_mean[i] : 0.0f;
        std[i] = q ? q->norm_std[i] : 1.0f;
    }
}
