/* Post-training quantization of a trained net (nn_quantize in nn/quant.h):
 * a copy of the net runs the calibration images in inference mode, each
 * layer's output range is recorded, then the layers become integer ops
 * (src/quant/qmodel.h): batchnorm folded into the conv or dense before it,
 * relu folded into its producer's clamp, dropout dropped, unary functions
 * as tables, weights per output channel. */
#include "quant/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "quant/qmath.h"

nn_quant_options nn_quant_defaults(void)
{
    nn_quant_options o = {.calibration = NN_QCALIB_MINMAX, .batch = 64,
                          .max_batch = 64};
    return o;
}

/* The range of one tensor over the calibration images. */
typedef struct {
    float min, max;
} range;

/* What quantizing needs to know of the fp32 net. */
typedef struct {
    nn_net *net;          /* the calibration copy, in inference mode */
    int layers;
    nn_layer_info *info;  /* (layers) */
    range *ranges;        /* (layers + 1): [0] the input, [i + 1] layer i */
    int *readers;         /* (layers) how many layers read layer i */
    int *reader;          /* (layers) the last layer that reads it */
    int *tensor;          /* (layers + 1) tensor of [0] the input, [i + 1]
                             layer i's output in the int8 model */
    int *consumed;        /* (layers) 1 when folded into an earlier op */
    const float *state;   /* the net's batchnorm statistics */
    size_t *state_at;     /* (layers) where layer i's state starts */
} plan;

static int is_kind(const nn_layer_info *info, const char *kind)
{
    return strcmp(info->kind, kind) == 0;
}

/* The copy of net that calibration runs: same spec, weights, statistics
 * and normalisation, built for batches of `batch`, inference mode. */
static nn_status copy_net(const nn_net *net, int batch, nn_net **out,
                          char *spec, size_t spec_size, char *msg,
                          size_t msg_size)
{
    /* The user's net is only read; the accessors of its arrays take a
     * non-const pointer. */
    nn_net *src = (nn_net *)(uintptr_t)net, *copy = NULL;
    float mean[3], std[3];
    int c, h, w;
    char why[160];
    nn_status st = nn_net_spec(net, spec, spec_size);
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "cannot describe the net (%s)",
                      nn_status_str(st));
        return st;
    }
    nn_net_input_shape(net, &c, &h, &w);
    nn_net_normalization(net, mean, std);
    st = nn_net_create(c, h, w, &copy);
    if (st == NN_OK)
        st = nn_net_add_spec(copy, spec, why, sizeof why);
    if (st == NN_OK)
        st = nn_net_build(copy, batch, 0);
    if (st == NN_OK)
        st = nn_net_set_normalization(copy, mean, std);
    if (st != NN_OK || nn_net_param_count(copy) != nn_net_param_count(net) ||
        nn_net_state_count(copy) != nn_net_state_count(net)) {
        nn_format_msg(msg, msg_size, "cannot copy the net for calibration "
                      "(%s)", nn_status_str(st == NN_OK ? NN_ESTATE : st));
        nn_net_destroy(copy);
        return st == NN_OK ? NN_ESTATE : st;
    }
    memcpy(nn_net_params(copy), nn_net_params(src),
           nn_net_param_count(net) * sizeof(float));
    if (nn_net_state_count(net))
        memcpy(nn_net_state(copy), nn_net_state(src),
               nn_net_state_count(net) * sizeof(float));
    nn_net_set_training(copy, 0);
    *out = copy;
    return NN_OK;
}

static void update_range(range *r, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        r->min = x[i] < r->min ? x[i] : r->min;
        r->max = x[i] > r->max ? x[i] : r->max;
    }
}

/* Runs the images through the copy and records every output's range. */
static nn_status calibrate(plan *p, const float *images, int n, int batch,
                           char *msg, size_t msg_size)
{
    nn_tensor *input = nn_net_input(p->net);
    size_t in_size = (size_t)input->c * input->h * input->w;
    for (int i = 0; i <= p->layers; i++)
        p->ranges[i] = (range){INFINITY, -INFINITY};
    for (int first = 0; first < n; first += batch) {
        int b = n - first < batch ? n - first : batch;
        nn_status st;
        memcpy(input->x, images + (size_t)first * in_size,
               (size_t)b * in_size * sizeof(float));
        update_range(&p->ranges[0], input->x, (size_t)b * in_size);
        st = nn_net_forward(p->net, b);
        if (st == NN_OK)
            st = nn_net_check_finite(p->net, msg, msg_size);
        if (st != NN_OK) {
            if (st != NN_ENUMERIC)
                nn_format_msg(msg, msg_size, "calibration forward pass: %s",
                              nn_status_str(st));
            return st;
        }
        for (int i = 0; i < p->layers; i++) {
            nn_tensor *t = nn_net_layer_output(p->net, i);
            update_range(&p->ranges[i + 1], t->x,
                         (size_t)b * t->c * t->h * t->w);
        }
    }
    return NN_OK;
}

/* Scale and zero point of a range (widened to hold 0):
 * scale = (max - min) / 255, zero_point = round(-min / scale). */
static void choose_params(range r, nn_qtensor *t)
{
    double lo = r.min < 0 ? r.min : 0, hi = r.max > 0 ? r.max : 0;
    float scale = (float)((hi - lo) / 255.0);
    if (!(scale >= 1e-20f) || !isfinite(scale))
        scale = 1.0f; /* a tensor that is always 0 */
    t->scale = scale;
    t->zero_point = nn_q_clamp((int32_t)lround(-lo / scale), 0, 255);
}

static void set_shape(nn_qtensor *t, int c, int h, int w)
{
    t->c = c;
    t->h = h;
    t->w = w;
}

/* Layer i's only reader when it is of the given kind, else -1. */
static int sole_reader(const plan *p, int i, const char *kind)
{
    int r = p->readers[i] == 1 ? p->reader[i] : -1;
    return r >= 0 && p->info[r].inputs == 1 && is_kind(&p->info[r], kind)
               ? r : -1;
}

/* Per-channel weights of a conv or dense (BN already folded in w, b):
 * w_scale = max|w| / 127, weight = round(w / w_scale), bias =
 * round(b / (s_in w_scale)), requant from s_in w_scale / s_out. */
static nn_status quantize_weights(nn_qconv *c, const double *w,
                                  const double *b, const nn_qtensor *in,
                                  const nn_qtensor *out, char *msg,
                                  size_t msg_size, int op)
{
    size_t depth = nn_qconv_depth(c);
    for (int o = 0; o < c->out_c; o++) {
        double maxabs = 0.0, s_w, s_acc, bias;
        for (size_t k = 0; k < depth; k++)
            maxabs = fmax(maxabs, fabs(w[(size_t)o * depth + k]));
        s_w = maxabs > 0.0 ? (double)(float)(maxabs / NN_QWEIGHT_MAX) : 1.0;
        c->w_scale[o] = (float)s_w;
        for (size_t k = 0; k < depth; k++) {
            double v = round(w[(size_t)o * depth + k] / s_w);
            v = v > NN_QWEIGHT_MAX ? NN_QWEIGHT_MAX
                                   : v < -NN_QWEIGHT_MAX ? -NN_QWEIGHT_MAX : v;
            c->weight[(size_t)o * depth + k] = (int8_t)v;
        }
        s_acc = (double)in->scale * c->w_scale[o];
        bias = round(b[o] / s_acc);
        bias = bias > 2147483647.0 ? 2147483647.0
                                   : bias < -2147483647.0 ? -2147483647.0 : bias;
        c->bias[o] = (int32_t)bias;
        if (fabs(bias) + (255.0 + in->zero_point) * NN_QWEIGHT_MAX * depth >
            2147483647.0) {
            nn_format_msg(msg, msg_size, "op %d: channel %d's int32 sums "
                          "could overflow (bias %g)", op, o, bias);
            return NN_EOVERFLOW;
        }
        if (c->int32_out)
            c->acc_scale[o] = (float)s_acc;
        else if (nn_qmul_from_real(s_acc / out->scale, &c->requant[o]) !=
                 NN_OK) {
            nn_format_msg(msg, msg_size, "op %d: channel %d's multiplier %g "
                          "is out of range", op, o, s_acc / out->scale);
            return NN_EOVERFLOW;
        }
    }
    return NN_OK;
}

/* Batchnorm j's per-channel a = gamma / sqrt(var + eps), d = beta - mean a
 * (1/sqrtf as the fp32 layer computes it). */
static void bn_affine(plan *p, int j, double *a, double *d)
{
    float *params, *grads;
    size_t count;
    const float *mean = p->state + p->state_at[j];
    int channels = p->info[j].in_c;
    const float *var = mean + channels;
    nn_net_layer_params(p->net, j, &params, &grads, &count);
    for (int ch = 0; ch < channels; ch++) {
        float invstd = 1.0f / sqrtf(var[ch] + p->info[j].args.eps);
        a[ch] = (double)params[ch] * invstd;
        d[ch] = (double)params[channels + ch] - (double)mean[ch] * a[ch];
    }
}

/* CONV or DENSE from layer i, with batchnorm bn (-1: none) folded. */
static nn_status make_conv(plan *p, nn_qmodel *q, int op, int i, int bn,
                           char *msg, size_t msg_size)
{
    nn_qop *o = &q->ops[op];
    nn_qconv *c = &o->conv;
    const nn_layer_info *info = &p->info[i];
    float *params, *grads;
    size_t count, depth;
    double *w, *b, *a = NULL, *d = NULL;
    nn_status st;
    c->out_c = info->out_c;
    if (o->kind == NN_QOP_CONV) {
        c->in_c = info->in_c;
        c->kh = info->args.kh;
        c->kw = info->args.kw ? info->args.kw : info->args.kh;
        c->stride = info->args.stride;
        c->pad = info->args.pad;
    } else {
        c->in_c = info->in_c * info->in_h * info->in_w;
        c->kh = c->kw = c->stride = 1;
    }
    if ((st = nn_qconv_alloc(c)) != NN_OK) {
        nn_format_msg(msg, msg_size, "op %d: out of memory", op);
        return st;
    }
    depth = nn_qconv_depth(c);
    nn_net_layer_params(p->net, i, &params, &grads, &count);
    if (count != (size_t)c->out_c * depth + (size_t)c->out_c) {
        nn_format_msg(msg, msg_size, "layer %d (%s): %zu parameters, expected "
                      "%zu", i, info->kind, count,
                      (size_t)c->out_c * depth + (size_t)c->out_c);
        return NN_ESTATE;
    }
    w = malloc((size_t)c->out_c * depth * sizeof *w);
    b = malloc((size_t)c->out_c * sizeof *b);
    if (bn >= 0) {
        a = malloc((size_t)c->out_c * sizeof *a);
        d = malloc((size_t)c->out_c * sizeof *d);
    }
    if (!w || !b || (bn >= 0 && (!a || !d))) {
        nn_format_msg(msg, msg_size, "out of memory");
        st = NN_ENOMEM;
    } else {
        if (bn >= 0)
            bn_affine(p, bn, a, d);
        for (int ch = 0; ch < c->out_c; ch++) {
            double g = bn >= 0 ? a[ch] : 1.0;
            for (size_t k = 0; k < depth; k++)
                w[(size_t)ch * depth + k] =
                    (double)params[(size_t)ch * depth + k] * g;
            b[ch] = (double)params[(size_t)c->out_c * depth + ch] * g +
                    (bn >= 0 ? d[ch] : 0.0);
        }
        c->bn_folded = bn >= 0;
        st = quantize_weights(c, w, b, &q->tensors[o->from[0]],
                              &q->tensors[op + 1], msg, msg_size, op);
    }
    free(w);
    free(b);
    free(a);
    free(d);
    return st;
}

/* AFFINE from batchnorm layer i. */
static nn_status make_affine(plan *p, nn_qmodel *q, int op, int i, char *msg,
                             size_t msg_size)
{
    nn_qconv *c = &q->ops[op].conv;
    const nn_qtensor *in = &q->tensors[q->ops[op].from[0]];
    double *a, *d;
    nn_status st = NN_OK;
    c->out_c = p->info[i].in_c;
    c->in_c = c->kh = c->kw = c->stride = 1;
    if ((st = nn_qconv_alloc(c)) != NN_OK) {
        nn_format_msg(msg, msg_size, "op %d: out of memory", op);
        return st;
    }
    a = malloc((size_t)c->out_c * sizeof *a);
    d = malloc((size_t)c->out_c * sizeof *d);
    if (!a || !d) {
        free(a);
        free(d);
        nn_format_msg(msg, msg_size, "out of memory");
        return NN_ENOMEM;
    }
    bn_affine(p, i, a, d);
    /* y = a x + d with x = s_in (q - z_in): one weight a per channel */
    st = quantize_weights(c, a, d, in, &q->tensors[op + 1], msg, msg_size, op);
    free(a);
    free(d);
    return st;
}

/* The table of a unary function f of layer i: lut[q] = clamp(z_out +
 * round(f(s_in (q - z_in)) / s_out), 0, 255), in double. */
static void make_lut(const nn_layer_info *info, const nn_qtensor *in,
                     const nn_qtensor *out, uint8_t lut[256])
{
    for (int v = 0; v < 256; v++) {
        double x = (double)in->scale * (v - in->zero_point), y;
        if (is_kind(info, "relu"))
            y = x > 0 ? x : 0;
        else if (is_kind(info, "leakyrelu"))
            y = x > 0 ? x : (double)info->args.slope * x;
        else if (is_kind(info, "sigmoid"))
            y = 1.0 / (1.0 + exp(-x));
        else
            y = tanh(x);
        y = round(y / out->scale) + out->zero_point;
        lut[v] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
    }
}

/* Folds a relu that is the only reader of layer *last: the clamp's lo
 * becomes the output zero point. */
static int fold_relu(plan *p, int *last)
{
    int r = sole_reader(p, *last, "relu");
    if (r < 0)
        return 0;
    p->consumed[r] = 1;
    *last = r;
    return 1;
}

/* Ops of layer i (and what folds into it) appended at q->ops[*ops]. */
static nn_status add_layer(plan *p, nn_qmodel *q, int i, int *ops, char *msg,
                           size_t msg_size)
{
    const nn_layer_info *info = &p->info[i];
    int op = *ops, last = i, relu = 0, bn = -1;
    nn_qop *o = &q->ops[op];
    nn_qtensor *out = &q->tensors[op + 1];
    const nn_qtensor *in;
    nn_status st = NN_OK;
    if (is_kind(info, "dropout")) {
        p->tensor[i + 1] = p->tensor[info->from[0] + 1];
        return NN_OK;
    }
    o->inputs = info->inputs;
    for (int t = 0; t < info->inputs; t++)
        o->from[t] = p->tensor[info->from[t] + 1];
    o->layer = i;
    snprintf(o->fp32_kind, sizeof o->fp32_kind, "%s", info->kind);
    in = &q->tensors[o->from[0]];
    if (is_kind(info, "conv2d") || is_kind(info, "dense")) {
        o->kind = is_kind(info, "conv2d") ? NN_QOP_CONV : NN_QOP_DENSE;
        bn = sole_reader(p, i, "batchnorm");
        if (bn >= 0) {
            p->consumed[bn] = 1;
            last = bn;
        }
        relu = fold_relu(p, &last);
        o->conv.int32_out = last == p->layers - 1 && !relu;
    } else if (is_kind(info, "batchnorm")) {
        o->kind = NN_QOP_AFFINE;
        relu = fold_relu(p, &last);
    } else if (is_kind(info, "add")) {
        o->kind = NN_QOP_ADD;
        relu = fold_relu(p, &last);
    } else if (is_kind(info, "concat"))
        o->kind = NN_QOP_CONCAT;
    else if (is_kind(info, "maxpool") || is_kind(info, "avgpool") ||
             is_kind(info, "globalavgpool")) {
        o->kind = is_kind(info, "maxpool") ? NN_QOP_MAXPOOL : NN_QOP_AVGPOOL;
        o->pool.global = is_kind(info, "globalavgpool");
        if (!o->pool.global) {
            o->pool.kh = info->args.kh;
            o->pool.kw = info->args.kw ? info->args.kw : info->args.kh;
            o->pool.stride = info->args.stride;
            o->pool.pad = info->args.pad;
            o->pool.ceil_mode = info->args.ceil_mode;
            o->pool.exclude_pad = info->args.exclude_pad;
        }
    } else if (is_kind(info, "relu") || is_kind(info, "leakyrelu") ||
               is_kind(info, "sigmoid") || is_kind(info, "tanh"))
        o->kind = NN_QOP_LUT;
    else {
        nn_format_msg(msg, msg_size, "layer %d (%s) has no int8 form", i,
                      info->kind);
        return NN_EINVAL;
    }
    set_shape(out, p->info[last].out_c, p->info[last].out_h,
              p->info[last].out_w);
    if (o->kind == NN_QOP_MAXPOOL ||
        (o->kind == NN_QOP_AVGPOOL && !o->pool.global)) {
        out->scale = in->scale;
        out->zero_point = in->zero_point;
    } else
        choose_params(p->ranges[last + 1], out);
    if (relu)
        out->zero_point = 0; /* the range of a relu's output starts at 0 */
    switch (o->kind) {
    case NN_QOP_CONV:
    case NN_QOP_DENSE:
        st = make_conv(p, q, op, i, bn, msg, msg_size);
        break;
    case NN_QOP_AFFINE:
        st = make_affine(p, q, op, i, msg, msg_size);
        break;
    case NN_QOP_ADD: {
        double s_max = 0;
        for (int t = 0; t < o->inputs; t++)
            s_max = fmax(s_max, q->tensors[o->from[t]].scale);
        for (int t = 0; t < o->inputs && st == NN_OK; t++)
            st = nn_qmul_from_real(q->tensors[o->from[t]].scale / (2 * s_max),
                                   &o->join.in[t]);
        if (st == NN_OK)
            st = nn_qmul_from_real(2 * s_max / ((double)(1 << NN_QADD_LEFT_SHIFT)
                                                * out->scale), &o->join.out);
        o->join.lo = 0;
        o->join.hi = 255;
        break;
    }
    case NN_QOP_CONCAT:
        for (int t = 0; t < o->inputs && st == NN_OK; t++) {
            const nn_qtensor *x = &q->tensors[o->from[t]];
            o->join.in_same[t] = x->scale == out->scale &&
                                 x->zero_point == out->zero_point;
            if (!o->join.in_same[t])
                st = nn_qmul_from_real((double)x->scale / out->scale,
                                       &o->join.in[t]);
        }
        break;
    case NN_QOP_LUT:
        make_lut(info, in, out, o->lut);
        break;
    case NN_QOP_AVGPOOL:
        if (o->pool.global) {
            o->pool.requant = 1;
            st = nn_qmul_from_real((double)in->scale /
                                   ((double)in->h * in->w * out->scale),
                                   &o->pool.mul);
        }
        break;
    default:
        break;
    }
    if (st == NN_EINVAL) {
        nn_format_msg(msg, msg_size, "op %d (%s): a multiplier is out of "
                      "range", op, info->kind);
        st = NN_EOVERFLOW;
    }
    if (o->kind == NN_QOP_CONV || o->kind == NN_QOP_DENSE ||
        o->kind == NN_QOP_AFFINE) {
        o->conv.relu = relu;
        o->conv.lo = relu ? out->zero_point : 0;
        o->conv.hi = 255;
        if (o->conv.int32_out)
            o->conv.lo = o->conv.hi = 0;
    } else if (o->kind == NN_QOP_ADD) {
        o->join.relu = relu;
        o->join.lo = relu ? out->zero_point : 0;
    }
    p->tensor[i + 1] = op + 1;
    if (last != i)
        p->tensor[last + 1] = op + 1;
    if (last != i && bn >= 0 && relu)
        p->tensor[bn + 1] = op + 1;
    (*ops)++;
    return st;
}

static void free_plan(plan *p)
{
    nn_net_destroy(p->net);
    free(p->info);
    free(p->ranges);
    free(p->readers);
    free(p->reader);
    free(p->tensor);
    free(p->consumed);
    free(p->state_at);
}

/* The net's structure: who reads whom, where the statistics are. */
static nn_status describe(plan *p, char *msg, size_t msg_size)
{
    size_t state = 0;
    int L = p->layers = nn_net_layer_count(p->net);
    p->info = calloc((size_t)L, sizeof *p->info);
    p->ranges = calloc((size_t)L + 1, sizeof *p->ranges);
    p->readers = calloc((size_t)L, sizeof *p->readers);
    p->reader = calloc((size_t)L, sizeof *p->reader);
    p->tensor = calloc((size_t)L + 1, sizeof *p->tensor);
    p->consumed = calloc((size_t)L, sizeof *p->consumed);
    p->state_at = calloc((size_t)L, sizeof *p->state_at);
    if (!p->info || !p->ranges || !p->readers || !p->reader || !p->tensor ||
        !p->consumed || !p->state_at) {
        nn_format_msg(msg, msg_size, "out of memory");
        return NN_ENOMEM;
    }
    p->state = nn_net_state(p->net);
    for (int i = 0; i < L; i++) {
        nn_net_layer_info(p->net, i, &p->info[i]);
        p->state_at[i] = state;
        state += p->info[i].state;
        for (int t = 0; t < p->info[i].inputs; t++)
            if (p->info[i].from[t] >= 0) {
                p->readers[p->info[i].from[t]]++;
                p->reader[p->info[i].from[t]] = i;
            }
    }
    return NN_OK;
}

static nn_status check_images(const float *images, size_t count, char *msg,
                              size_t msg_size)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(images[i])) {
            nn_format_msg(msg, msg_size, "calibration value %zu is %g: images "
                          "must be finite", i, (double)images[i]);
            return NN_ENUMERIC;
        }
    return NN_OK;
}

nn_status nn_quantize(const nn_net *net, const float *images, int n,
                      const nn_quant_options *opt, nn_qmodel **out,
                      char *msg, size_t msg_size)
{
    nn_quant_options o = opt ? *opt : nn_quant_defaults();
    plan p = {0};
    nn_qmodel *q = NULL;
    int c, h, w, ops = 0;
    char *spec = NULL;
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (out)
        *out = NULL;
    if (!net || !out || !images || n < 1) {
        nn_format_msg(msg, msg_size, "%s", !net ? "no net" : !out ? "no output"
                      : !images ? "no calibration images"
                      : "no calibration images (n < 1)");
        return NN_EINVAL;
    }
    if (nn_net_max_batch(net) == 0 || nn_net_layer_count(net) < 1) {
        nn_format_msg(msg, msg_size, "the net is not built");
        return NN_ESTATE;
    }
    if (o.batch < 1 || o.max_batch < 1 || o.max_batch > (1 << 20) ||
        o.calibration != NN_QCALIB_MINMAX) {
        nn_format_msg(msg, msg_size, "bad options (batch %d, max_batch %d, "
                      "calibration %d: only minmax)", o.batch, o.max_batch,
                      (int)o.calibration);
        return NN_EINVAL;
    }
    nn_net_input_shape(net, &c, &h, &w);
    if ((st = check_images(images, (size_t)n * c * h * w, msg, msg_size)) !=
        NN_OK)
        return st;
    o.batch = o.batch < n ? o.batch : n;
    if (!(spec = malloc(65536))) {
        nn_format_msg(msg, msg_size, "out of memory");
        return NN_ENOMEM;
    }
    st = copy_net(net, o.batch, &p.net, spec, 65536, msg, msg_size);
    if (st == NN_OK)
        st = describe(&p, msg, msg_size);
    if (st == NN_OK)
        st = calibrate(&p, images, n, o.batch, msg, msg_size);
    if (st == NN_OK) {
        int count = 0;
        for (int i = 0; i < p.layers; i++)
            count += !is_kind(&p.info[i], "dropout");
        if (!(q = nn_qmodel_new(count))) {
            nn_format_msg(msg, msg_size, "%d ops: out of memory or too many",
                          count);
            st = NN_ENOMEM;
        }
    }
    if (st == NN_OK) {
        q->in_c = c;
        q->in_h = h;
        q->in_w = w;
        nn_net_normalization(net, q->norm_mean, q->norm_std);
        snprintf(q->spec, sizeof q->spec, "%s", spec);
        snprintf(q->calibration, sizeof q->calibration, "minmax %d", n);
        set_shape(&q->tensors[0], c, h, w);
        choose_params(p.ranges[0], &q->tensors[0]);
        p.tensor[0] = 0;
        for (int i = 0; i < p.layers && st == NN_OK; i++)
            if (!p.consumed[i])
                st = add_layer(&p, q, i, &ops, msg, msg_size);
    }
    if (st == NN_OK) {
        q->op_count = ops; /* folding made fewer ops than layers */
        q->tensor_count = ops + 1;
        q->classes = q->tensors[ops].c * q->tensors[ops].h * q->tensors[ops].w;
        st = nn_qmodel_check(q, msg, msg_size);
        if (st == NN_EFORMAT)
            st = NN_ESTATE; /* a fault of the quantizer, not of a file */
    }
    if (st == NN_OK)
        st = nn_qmodel_prepare(q, o.max_batch, msg, msg_size);
    free_plan(&p);
    free(spec);
    if (st != NN_OK) {
        nn_qmodel_free(q);
        return st;
    }
    *out = q;
    return NN_OK;
}
