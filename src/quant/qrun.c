/* Running an int8 model: the input quantized, then every op in order on
 * uint8 tensors (int32 sums), the logits dequantized (nn/quant.h). No
 * allocation: the buffers are nn_qmodel_prepare's. */
#include "quant/quant.h"

#include <math.h>
#include <string.h>

#include "quant/qkernels.h"
#include "quant/qmath.h"
#include "quant/qrun.h"

static size_t tensor_size(const nn_qtensor *t)
{
    return (size_t)t->c * t->h * t->w;
}

/* A conv, one sample at a time: uint8 patches, the gemm into acc
 * (out_c, P16), each channel's plane requantized (or, for int32 logits,
 * copied). */
static void conv_op(nn_qmodel *q, int i, int n)
{
    const nn_qop *op = &q->ops[i];
    const nn_qconv *c = &op->conv;
    const nn_qtensor *in = &q->tensors[op->from[0]], *out = &q->tensors[i + 1];
    struct nn_qrun *run = q->run;
    int positions = out->h * out->w, pos16 = nn_q_pos16(positions);
    int depth = (int)nn_qconv_depth(c), depth2 = (depth + 1) / 2 * 2;
    size_t in_size = tensor_size(in), out_size = tensor_size(out);
    for (int s = 0; s < n; s++) {
        const uint8_t *x = run->values[op->from[0]] + s * in_size;
        if (run->use_vnni) {
            nn_q_im2col_quads(x, in->c, in->h, in->w, c->kh, c->kw, c->stride,
                              c->pad, out->h, out->w, (uint8_t)in->zero_point,
                              run->padded, run->patches, run->quads);
            nn_q_conv_gemm_quads_vnni(c->out_c, nn_q_depth4(depth), pos16,
                                      run->quads, run->w4[i], c->bias_folded,
                                      run->acc);
        } else {
            nn_q_im2col(x, in->c, in->h, in->w, c->kh, c->kw, c->stride,
                        c->pad, out->h, out->w, (uint8_t)in->zero_point,
                        run->padded, run->patches);
            run->conv_gemm(c->out_c, depth2, pos16, run->patches, run->w2[i],
                           c->bias_folded, run->acc);
        }
        for (int o = 0; o < c->out_c; o++) {
            const int32_t *plane = run->acc + (size_t)o * pos16;
            if (c->int32_out)
                memcpy(run->logits_acc + s * out_size + (size_t)o * positions,
                       plane, (size_t)positions * sizeof *plane);
            else
                run->requant_plane(plane, positions, c->requant[o],
                                   out->zero_point, c->lo, c->hi,
                                   run->values[i + 1] + s * out_size +
                                       (size_t)o * positions);
        }
    }
}

static void dense_op(nn_qmodel *q, int i, int n)
{
    const nn_qop *op = &q->ops[i];
    const nn_qconv *c = &op->conv;
    struct nn_qrun *run = q->run;
    nn_q_widen_rows(n, c->in_c, run->values[op->from[0]], run->col);
    run->gemm(n, c->out_c, nn_q_depth16(c->in_c), run->col, run->w16[i],
              c->bias_folded, c->int32_out ? run->logits_acc : run->acc);
    if (!c->int32_out)
        nn_q_requant_rows(n, c->out_c, run->acc, c->requant,
                          q->tensors[i + 1].zero_point, c->lo, c->hi,
                          run->values[i + 1]);
}

static void pool_op(nn_qmodel *q, int i, int n)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *in = &q->tensors[op->from[0]], *out = &q->tensors[i + 1];
    const nn_qpool *p = &op->pool;
    const uint8_t *x = q->run->values[op->from[0]];
    uint8_t *y = q->run->values[i + 1];
    nn_pool2d_shape s = {.in_h = in->h, .in_w = in->w, .kh = p->kh,
                         .kw = p->kw, .stride = p->stride, .pad = p->pad,
                         .ceil_mode = p->ceil_mode,
                         .exclude_pad = p->exclude_pad,
                         .out_h = out->h, .out_w = out->w};
    if (p->global && p->requant)
        nn_q_global_avgpool_requant(x, in->zero_point, (size_t)in->h * in->w,
                                    p->mul, out->zero_point, y, n * in->c);
    else if (p->global)
        nn_q_global_avgpool(x, in->zero_point, (size_t)in->h * in->w, y,
                            n * in->c);
    else if (op->kind == NN_QOP_MAXPOOL)
        nn_q_maxpool(&s, x, y, n * in->c);
    else
        nn_q_avgpool(&s, x, in->zero_point, y, n * in->c);
}

static void join_op(nn_qmodel *q, int i, int n)
{
    const nn_qop *op = &q->ops[i];
    const nn_qtensor *out = &q->tensors[i + 1];
    size_t out_size = tensor_size(out);
    uint8_t *y = q->run->values[i + 1];
    if (op->kind == NN_QOP_ADD) {
        const uint8_t *x[NN_MAX_INPUTS];
        int32_t zero[NN_MAX_INPUTS];
        for (int t = 0; t < op->inputs; t++) {
            x[t] = q->run->values[op->from[t]];
            zero[t] = q->tensors[op->from[t]].zero_point;
        }
        nn_q_add(x, op->inputs, out_size * n, zero, &op->join,
                 out->zero_point, y);
        return;
    }
    for (int s = 0; s < n; s++) {
        size_t offset = 0;
        for (int t = 0; t < op->inputs; t++) {
            const nn_qtensor *in = &q->tensors[op->from[t]];
            size_t in_size = tensor_size(in);
            nn_q_rescale(q->run->values[op->from[t]] + s * in_size, in_size,
                         in->zero_point, op->join.in[t], op->join.in_same[t],
                         out->zero_point, y + s * out_size + offset);
            offset += in_size;
        }
    }
}

nn_status nn_qmodel_logits(nn_qmodel *q, const float *images, int n,
                           float *logits)
{
    struct nn_qrun *run;
    const nn_qtensor *last;
    const nn_qconv *lc;
    size_t classes;
    if (!q || !q->run || !images || !logits)
        return NN_EINVAL;
    run = q->run;
    if (n < 1 || n > run->max_batch)
        return NN_ESHAPE;
    run->quantize(images, tensor_size(&q->tensors[0]) * n,
                  q->tensors[0].scale, q->tensors[0].zero_point,
                  run->values[0]);
    for (int i = 0; i < q->op_count; i++) {
        const nn_qop *op = &q->ops[i];
        size_t size = tensor_size(&q->tensors[i + 1]) * n;
        switch (op->kind) {
        case NN_QOP_CONV:
            conv_op(q, i, n);
            break;
        case NN_QOP_DENSE:
            dense_op(q, i, n);
            break;
        case NN_QOP_AFFINE: {
            const nn_qtensor *in = &q->tensors[op->from[0]];
            size_t hw = (size_t)in->h * in->w;
            for (int s = 0; s < n; s++)
                nn_q_affine(run->values[op->from[0]] + s * hw * in->c, in->c,
                            hw, op->conv.weight, op->conv.bias_folded,
                            op->conv.requant, q->tensors[i + 1].zero_point,
                            op->conv.lo, op->conv.hi,
                            run->values[i + 1] + s * hw * in->c);
            break;
        }
        case NN_QOP_MAXPOOL:
        case NN_QOP_AVGPOOL:
            pool_op(q, i, n);
            break;
        case NN_QOP_ADD:
        case NN_QOP_CONCAT:
            join_op(q, i, n);
            break;
        case NN_QOP_LUT:
            nn_q_lut(run->values[op->from[0]], size, op->lut,
                     run->values[i + 1]);
            break;
        }
    }
    last = &q->tensors[q->op_count];
    lc = &q->ops[q->op_count - 1].conv;
    classes = tensor_size(last);
    if (lc->int32_out) {
        size_t plane = (size_t)last->h * last->w;
        for (size_t k = 0; k < classes * n; k++)
            logits[k] = (float)((double)lc->acc_scale[(k % classes) / plane] *
                                run->logits_acc[k]);
    } else
        for (size_t k = 0; k < classes * n; k++)
            logits[k] = last->scale *
                        (float)((int32_t)run->values[q->op_count][k] -
                                last->zero_point);
    return NN_OK;
}

nn_status nn_qmodel_predict(nn_qmodel *q, const float *images, int n,
                            float *probs)
{
    nn_status st = nn_qmodel_logits(q, images, n, probs);
    size_t classes;
    if (st != NN_OK)
        return st;
    classes = (size_t)q->classes;
    for (int s = 0; s < n; s++) {
        float *p = probs + s * classes, max = p[0], sum = 0.0f;
        for (size_t k = 1; k < classes; k++)
            max = p[k] > max ? p[k] : max;
        for (size_t k = 0; k < classes; k++) {
            p[k] = expf(p[k] - max);
            sum += p[k];
        }
        for (size_t k = 0; k < classes; k++)
            p[k] /= sum;
    }
    return NN_OK;
}
