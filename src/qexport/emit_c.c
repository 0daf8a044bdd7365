/* A model compiled to one C11 source file and its header (nn/io.h):
 * the const arrays of each layer's tensors, the kernels its layers use
 * (emit_c_kernels.c), and PREFIX_logits calling them in order over the
 * working memory emit_c_plan.c lays out. */
#include "nn/io.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/advanced.h"
#include "qexport/emit_c_kernels.h"
#include "qexport/emit_c_plan.h"
#include "qexport/emit_text.h"

/* Everything the emitters of the layers share. */
typedef struct {
    nn_net *net;
    const char *prefix;        /* of every symbol: "net" */
    const char *stem;          /* the files' name without .c or .h */
    emit_c_slot *slots;     /* where each layer's output is */
    int count;                 /* layers */
    nn_text *body;             /* PREFIX_logits's statements */
    unsigned kernels;          /* bit k: kernel k is called */
    int classes;               /* outputs of the last layer */
    size_t const_floats;       /* in the const arrays */
    char *msg;
    size_t msg_size;
} emit_ctx;

/* Bytes that always hold where's text. */
#define WHERE_SIZE 48

/* Where layer `from`'s output is (-1: the net's input), `extra` floats on,
 * as a pointer expression: "in", "logits" or "work + 123"; buf has room
 * for WHERE_SIZE bytes. */
static const char *where(const emit_ctx *e, int from, size_t extra, char *buf)
{
    int owner = from < 0 ? -1 : e->slots[from].owner;
    if (from == e->count - 1 && owner == from)
        snprintf(buf, WHERE_SIZE, extra ? "logits + %zu" : "logits", extra);
    else if (owner < 0)
        snprintf(buf, WHERE_SIZE, extra ? "in + %zu" : "in", extra);
    else if (e->slots[owner].offset + extra)
        snprintf(buf, WHERE_SIZE, "work + %zu", e->slots[owner].offset + extra);
    else
        snprintf(buf, WHERE_SIZE, "work");
    return buf;
}

/* Writes the field `name` of layer i (params or state) as a const array
 * PREFIX_l<i>_<name>; NN_EINVAL for a value that is not finite. With
 * invstd_eps > 0 the values written are 1 / sqrtf(v + eps) in float. */
static nn_status emit_field(emit_ctx *e, nn_text *t, int i, const char *name,
                            const char *as, float invstd_eps)
{
    nn_layer_field fields[NN_MAX_FIELDS];
    const float *values = NULL;
    size_t count = 0;
    int n = 0;
    float *params, *grads;
    nn_net_layer_fields(e->net, i, fields, &n);
    for (int f = 0; f < n; f++) {
        if (strcmp(fields[f].name, name))
            continue;
        if (fields[f].state) {
            nn_layer_info info;
            size_t state = 0;
            for (int j = 0; j < i; j++) {
                nn_net_layer_info(e->net, j, &info);
                state += info.state;
            }
            values = nn_net_state(e->net) + state + fields[f].offset;
        } else {
            if (nn_net_layer_params(e->net, i, &params, &grads, &count) != NN_OK)
                break;
            values = params + fields[f].offset;
        }
        count = fields[f].count;
    }
    if (!values) {
        snprintf(e->msg, e->msg_size, "layer %d has no tensor %s", i, name);
        return NN_EINVAL;
    }
    nn_text_put(t, "static const float %s_l%d_%s[%zu] = {", e->prefix, i, as, count);
    for (size_t k = 0; k < count; k++) {
        float v = invstd_eps > 0.0f ? 1.0f / sqrtf(values[k] + invstd_eps)
                                    : values[k];
        if (!isfinite(v)) {
            snprintf(e->msg, e->msg_size, "layer %d: %s[%zu] is not finite",
                     i, as, k);
            return NN_EINVAL;
        }
        nn_text_put(t, "%s%af,", k % 6 ? " " : "\n    ", (double)v);
    }
    nn_text_put(t, "\n};\n");
    e->const_floats += count;
    return NN_OK;
}

/* The const arrays of layer i's fields names[k][0] (k < count), each
 * called names[k][1]; one called "invstd" is 1 / sqrtf(v + eps) in float. */
static nn_status emit_fields(emit_ctx *e, nn_text *t, int i,
                             const char *const (*names)[2], int count, float eps)
{
    nn_status st = NN_OK;
    for (int k = 0; k < count && st == NN_OK; k++)
        st = emit_field(e, t, i, names[k][0], names[k][1],
                        strcmp(names[k][1], "invstd") ? 0.0f : eps);
    return st;
}

/* conv2d's and dense's fields */
static const char *const weight_bias[2][2] = {{"weight", "weight"},
                                              {"bias", "bias"}};

/* One layer: its const arrays into t, its statements into e->body. */
typedef nn_status (*emit_fn)(emit_ctx *e, nn_text *t, int i,
                             const nn_layer_info *info);

static nn_status emit_conv2d(emit_ctx *e, nn_text *t, int i,
                             const nn_layer_info *info)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    const nn_layer_args *a = &info->args;
    nn_status st = emit_fields(e, t, i, weight_bias, 2, 0.0f);
    nn_text_put(e->body,
        "    conv2d_forward(%s, %d, %d, %d, %s_l%d_weight, %s_l%d_bias,\n"
        "                   %s, %d, %d, %d, %d, %d, %d, %d);\n",
        where(e, info->from[0], 0, x), info->in_c, info->in_h, info->in_w,
        e->prefix, i, e->prefix, i, where(e, i, 0, y), info->out_c, info->out_h,
        info->out_w, a->kh, a->kw ? a->kw : a->kh, a->stride, a->pad);
    e->kernels |= 1u << KERNEL_CONV2D;
    return st;
}

static nn_status emit_dense(emit_ctx *e, nn_text *t, int i,
                            const nn_layer_info *info)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    nn_status st = emit_fields(e, t, i, weight_bias, 2, 0.0f);
    nn_text_put(e->body, "    dense_forward(%s, %d, %s_l%d_weight, %s_l%d_bias, %s, %d);\n",
        where(e, info->from[0], 0, x), info->in_c * info->in_h * info->in_w,
        e->prefix, i, e->prefix, i, where(e, i, 0, y),
        info->out_c * info->out_h * info->out_w);
    e->kernels |= 1u << KERNEL_DENSE;
    return st;
}

static nn_status emit_pool(emit_ctx *e, int i, const nn_layer_info *info,
                           int average)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    const nn_layer_args *a = &info->args;
    nn_text_put(e->body,
        "    %s_forward(%s, %s, %d, %d, %d, %d, %d, %d, %d, %d, %d",
        average ? "avgpool" : "maxpool", where(e, info->from[0], 0, x),
        where(e, i, 0, y), info->in_c, info->in_h, info->in_w, info->out_h,
        info->out_w, a->kh, a->kw ? a->kw : a->kh, a->stride, a->pad);
    nn_text_put(e->body, average ? ", %d);\n" : ");\n", a->exclude_pad);
    e->kernels |= 1u << KERNEL_POOL_SPAN |
                  1u << (average ? KERNEL_AVGPOOL : KERNEL_MAXPOOL);
    return NN_OK;
}

static nn_status emit_maxpool(emit_ctx *e, nn_text *t, int i,
                              const nn_layer_info *info)
{
    (void)t;
    return emit_pool(e, i, info, 0);
}

static nn_status emit_avgpool(emit_ctx *e, nn_text *t, int i,
                              const nn_layer_info *info)
{
    (void)t;
    return emit_pool(e, i, info, 1);
}

static nn_status emit_global_avgpool(emit_ctx *e, nn_text *t, int i,
                                     const nn_layer_info *info)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    (void)t;
    nn_text_put(e->body, "    global_avgpool_forward(%s, %s, %d, %d);\n",
        where(e, info->from[0], 0, x), where(e, i, 0, y), info->in_c,
        info->in_h * info->in_w);
    e->kernels |= 1u << KERNEL_GLOBAL_AVGPOOL;
    return NN_OK;
}

static nn_status emit_batchnorm(emit_ctx *e, nn_text *t, int i,
                                const nn_layer_info *info)
{
    static const char *const fields[4][2] = {{"running_mean", "mean"},
                                             {"running_var", "invstd"},
                                             {"gamma", "gamma"},
                                             {"beta", "beta"}};
    char x[WHERE_SIZE], y[WHERE_SIZE];
    nn_status st = emit_fields(e, t, i, fields, 4, info->args.eps);
    nn_text_put(e->body,
        "    batchnorm_forward(%s, %s, %d, %d, %s_l%d_mean, %s_l%d_invstd,\n"
        "                      %s_l%d_gamma, %s_l%d_beta);\n",
        where(e, info->from[0], 0, x), where(e, i, 0, y), info->in_c,
        info->in_h * info->in_w, e->prefix, i, e->prefix, i, e->prefix, i,
        e->prefix, i);
    e->kernels |= 1u << KERNEL_BATCHNORM;
    return st;
}

/* relu, sigmoid, tanh, leakyrelu: kernel `name`_forward over the values */
static nn_status emit_activation(emit_ctx *e, int i, const nn_layer_info *info,
                                 const char *name, emit_c_kernel kernel)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    nn_text_put(e->body, "    %s_forward(%s, %s, %d", name, where(e, info->from[0], 0, x),
        where(e, i, 0, y), info->out_c * info->out_h * info->out_w);
    if (kernel == KERNEL_LEAKYRELU)
        nn_text_put(e->body, ", %af", (double)info->args.slope);
    nn_text_put(e->body, ");\n");
    e->kernels |= 1u << kernel;
    return NN_OK;
}

static nn_status emit_relu(emit_ctx *e, nn_text *t, int i, const nn_layer_info *info)
{
    (void)t;
    return emit_activation(e, i, info, "relu", KERNEL_RELU);
}

static nn_status emit_leakyrelu(emit_ctx *e, nn_text *t, int i,
                                const nn_layer_info *info)
{
    (void)t;
    return emit_activation(e, i, info, "leakyrelu", KERNEL_LEAKYRELU);
}

static nn_status emit_sigmoid(emit_ctx *e, nn_text *t, int i,
                              const nn_layer_info *info)
{
    (void)t;
    return emit_activation(e, i, info, "sigmoid", KERNEL_SIGMOID);
}

static nn_status emit_tanh(emit_ctx *e, nn_text *t, int i, const nn_layer_info *info)
{
    (void)t;
    return emit_activation(e, i, info, "tanh", KERNEL_TANH);
}

/* The identity: nothing to do, unless it is the last layer (a copy into
 * the caller's output) */
static nn_status emit_dropout(emit_ctx *e, nn_text *t, int i,
                              const nn_layer_info *info)
{
    char x[WHERE_SIZE];
    (void)t;
    if (i == e->count - 1) {
        nn_text_put(e->body, "    copy_forward(%s, logits, %d);\n",
            where(e, info->from[0], 0, x), info->out_c * info->out_h * info->out_w);
        e->kernels |= 1u << KERNEL_COPY;
    }
    return NN_OK;
}

/* y[i] = x0[i] + x1[i] + ..., added in order */
static nn_status emit_add(emit_ctx *e, nn_text *t, int i, const nn_layer_info *info)
{
    char x[WHERE_SIZE];
    (void)t;
    nn_text_put(e->body, "    for (int i = 0; i < %d; i++)\n        (%s)[i] =",
        info->out_c * info->out_h * info->out_w, where(e, i, 0, x));
    for (int k = 0; k < info->inputs; k++)
        nn_text_put(e->body, "%s(%s)[i]", k ? " + " : " ", where(e, info->from[k], 0, x));
    nn_text_put(e->body, ";\n");
    return NN_OK;
}

/* The inputs' channels one after another */
static nn_status emit_concat(emit_ctx *e, nn_text *t, int i,
                             const nn_layer_info *info)
{
    char x[WHERE_SIZE], y[WHERE_SIZE];
    size_t at = 0, plane = (size_t)info->out_h * info->out_w;
    (void)t;
    for (int k = 0; k < info->inputs; k++) {
        int from = info->from[k], channels;
        if (from < 0) {
            int h, w;
            nn_net_input_shape(e->net, &channels, &h, &w);
        } else {
            nn_layer_info in;
            nn_net_layer_info(e->net, from, &in);
            channels = in.out_c;
        }
        nn_text_put(e->body, "    copy_forward(%s, %s, %zu);\n", where(e, from, 0, x),
            where(e, i, at, y), channels * plane);
        at += channels * plane;
    }
    e->kernels |= 1u << KERNEL_COPY;
    return NN_OK;
}

/* Each layer kind with C code: its emitter, and how the memory plan
 * treats it. */
typedef struct {
    const char *kind;
    emit_fn emit;
    int elementwise; /* may write over its first input */
    int alias;       /* its output is its input */
} c_kind;

static const c_kind c_kinds[] = {
    {.kind = "conv2d", .emit = emit_conv2d},
    {.kind = "dense", .emit = emit_dense},
    {.kind = "maxpool", .emit = emit_maxpool},
    {.kind = "avgpool", .emit = emit_avgpool},
    {.kind = "globalavgpool", .emit = emit_global_avgpool},
    {.kind = "batchnorm", .emit = emit_batchnorm, .elementwise = 1},
    {.kind = "relu", .emit = emit_relu, .elementwise = 1},
    {.kind = "leakyrelu", .emit = emit_leakyrelu, .elementwise = 1},
    {.kind = "sigmoid", .emit = emit_sigmoid, .elementwise = 1},
    {.kind = "tanh", .emit = emit_tanh, .elementwise = 1},
    {.kind = "dropout", .emit = emit_dropout, .alias = 1},
    {.kind = "add", .emit = emit_add, .elementwise = 1},
    {.kind = "concat", .emit = emit_concat},
};

static const c_kind *c_kind_of(const char *kind)
{
    for (size_t k = 0; k < sizeof c_kinds / sizeof c_kinds[0]; k++)
        if (!strcmp(c_kinds[k].kind, kind))
            return &c_kinds[k];
    return NULL;
}

static int is_elementwise(const char *kind)
{
    const c_kind *k = c_kind_of(kind);
    return k && k->elementwise;
}

static int is_alias(const char *kind)
{
    const c_kind *k = c_kind_of(kind);
    return k && k->alias;
}

/* The header: sizes, the input it expects, the two functions. */
static void write_header(nn_text *h, const char *stem, const char *prefix,
                         const char *macro, const char *source,
                         const char *spec, nn_net *net,
                         const nn_model_c_sizes *sizes)
{
    float mean[3], std[3];
    char m[3][32], s[3][32];
    int c, hh, w;
    nn_net_input_shape(net, &c, &hh, &w);
    nn_net_normalization(net, mean, std);
    nn_text_put(h, "/* %s.h: the model %s compiled to C by libnn's nn_convert; do not\n"
           " * edit. Layers: %s\n"
           " * One C11 file (%s.c) without libnn, allocation, stdio or any\n"
           " * variable at file scope: the weights are const arrays, the\n"
           " * caller gives the working memory. Link with -lm. */\n"
           "#ifndef %s_H\n#define %s_H\n\n"
           "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
        stem, source, spec, stem, macro, macro);
    nn_text_put(h, "/* One input sample: (channels, height, width), row-major. */\n"
           "#define %s_IN_C %d\n#define %s_IN_H %d\n#define %s_IN_W %d\n"
           "#define %s_IN_FLOATS %zu\n"
           "/* Outputs: logits or probabilities. */\n#define %s_CLASSES %zu\n"
           "/* Floats of the working memory each call needs. */\n"
           "#define %s_WORK_FLOATS %zu\n"
           "/* Bytes of the const arrays (weights, statistics). */\n"
           "#define %s_CONST_BYTES %zu\n\n",
        macro, c, macro, hh, macro, w, macro, sizes->in_floats, macro,
        sizes->classes, macro, sizes->work_bytes / sizeof(float), macro,
        sizes->const_bytes);
    nn_text_put(h, "/* The input is what libnn's nn_net_forward reads: pixels v in\n"
           " * [0, 255] of channel k become (v / 255 - mean[k]) / std[k] with\n"
           " * the model's normalisation: */\n"
           "#define %s_INPUT_MEAN {%s, %s, %s}\n"
           "#define %s_INPUT_STD {%s, %s, %s}\n\n",
        macro, nn_text_float_literal(mean[0], m[0], 32), nn_text_float_literal(mean[1], m[1], 32),
        nn_text_float_literal(mean[2], m[2], 32), macro, nn_text_float_literal(std[0], s[0], 32),
        nn_text_float_literal(std[1], s[1], 32), nn_text_float_literal(std[2], s[2], 32));
    nn_text_put(h, "/* logits (%s_CLASSES) <- the net's output for in (%s_IN_FLOATS);\n"
           " * work: %s_WORK_FLOATS floats of scratch, reused by every call\n"
           " * (one per thread); logits must not overlap in or work. */\n"
           "void %s_logits(const float *in, float *logits, float *work);\n"
           "/* probs (%s_CLASSES) <- softmax of %s_logits: the class\n"
           " * probabilities, as libnn's nn_net_softmax gives them. */\n"
           "void %s_predict(const float *in, float *probs, float *work);\n\n"
           "#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s_H */\n",
        macro, macro, macro, prefix, macro, prefix, prefix, macro);
}

/* The source: const arrays, kernels, the two functions. */
static nn_status write_source(emit_ctx *e, nn_text *c, const char *source,
                              const char *spec)
{
    nn_text arrays = {0}, body = {0};
    nn_status st = NN_OK;
    e->body = &body;
    for (int i = 0; i < e->count && st == NN_OK; i++) {
        nn_layer_info info;
        const c_kind *kind;
        nn_net_layer_info(e->net, i, &info);
        kind = c_kind_of(info.kind);
        if (!kind) {
            snprintf(e->msg, e->msg_size,
                     "layer %d (%s): no C code for this kind of layer", i,
                     info.kind);
            st = NN_EINVAL;
            break;
        }
        nn_text_put(&body, "    /* %d %s: (%d, %d, %d) */\n", i, info.kind, info.out_c,
            info.out_h, info.out_w);
        st = kind->emit(e, &arrays, i, &info);
    }
    nn_text_put(c, "/* %s.c: the model %s compiled to C by libnn's nn_convert; do not\n"
           " * edit. Layers: %s\n"
           " * (%s.h: what the functions expect.) */\n"
           "#include \"%s.h\"\n\n#include <math.h>\n\n",
        e->stem, source, spec, e->stem, e->stem);
    nn_text_put(c, "%s\n", arrays.data ? arrays.data : "");
    e->kernels |= 1u << KERNEL_SOFTMAX;
    for (int k = 0; k < KERNEL_COUNT; k++)
        if (e->kernels & 1u << k)
            nn_text_put(c, "%s\n", nn_emit_c_kernel_text((emit_c_kernel)k));
    nn_text_put(c, "void %s_logits(const float *in, float *logits, float *work)\n{\n"
           "%s%s}\n\n",
        e->prefix, strstr(body.data ? body.data : "", "work") ? "" : "    (void)work;\n",
        body.data ? body.data : "");
    nn_text_put(c, "void %s_predict(const float *in, float *probs, float *work)\n{\n"
           "    %s_logits(in, probs, work);\n"
           "    softmax_forward(probs, %d);\n}\n",
        e->prefix, e->prefix, e->classes);
    if (arrays.failed || body.failed)
        c->failed = 1;
    free(arrays.data);
    free(body.data);
    return st;
}

nn_status nn_model_c_save(nn_net *net, const char *path, const char *source,
                          nn_model_c_sizes *sizes, char *msg, size_t msg_size)
{
    nn_model_c_sizes own_sizes;
    char prefix[64], macro[64], header[4096], spec[4096], stem[256];
    const char *name;
    nn_text c = {0}, h = {0};
    size_t work_floats = 0, len = strlen(path);
    nn_layer_info last;
    int ch, hh, w;
    emit_ctx e = {.net = net, .prefix = prefix, .msg = msg,
                  .msg_size = msg_size};
    nn_status st;
    if (!sizes)
        sizes = &own_sizes;
    if (len < 2 || len + 1 > sizeof header || strcmp(path + len - 2, ".c")) {
        snprintf(msg, msg_size, "%s: the C file's name must end in .c", path);
        return NN_EINVAL;
    }
    name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (strlen(name) + 1 > sizeof stem || strpbrk(name, "\"\\\n")) {
        snprintf(msg, msg_size, "%s: a C file's name must be shorter than %zu "
                 "bytes, without quotes or backslashes", path, sizeof stem);
        return NN_EINVAL;
    }
    memcpy(stem, name, strlen(name) - 1);
    stem[strlen(name) - 2] = '\0';
    e.stem = stem;
    nn_text_prefix(path, prefix, sizeof prefix);
    nn_text_upper(prefix, macro, sizeof macro);
    memcpy(header, path, len + 1);
    header[len - 1] = 'h';
    e.count = nn_net_layer_count(net);
    if (e.count < 1) {
        snprintf(msg, msg_size, "the model has no layers");
        return NN_EINVAL;
    }
    source = strrchr(source, '/') ? strrchr(source, '/') + 1 : source;
    if (nn_net_spec(net, spec, sizeof spec) != NN_OK)
        snprintf(spec, sizeof spec, "(a spec too long to show)");
    st = nn_emit_c_plan(net, is_elementwise, is_alias, &e.slots, &work_floats);
    if (st != NN_OK) {
        snprintf(msg, msg_size, "out of memory");
        return st;
    }
    nn_net_layer_info(net, e.count - 1, &last);
    nn_net_input_shape(net, &ch, &hh, &w);
    sizes->in_floats = (size_t)ch * hh * w;
    sizes->classes = (size_t)last.out_c * last.out_h * last.out_w;
    sizes->work_bytes = work_floats * sizeof(float);
    e.classes = (int)sizes->classes;
    st = write_source(&e, &c, source, spec);
    sizes->const_bytes = e.const_floats * sizeof(float);
    if (st == NN_OK) {
        write_header(&h, stem, prefix, macro, source, spec, net, sizes);
        if (c.failed || h.failed) {
            snprintf(msg, msg_size, "out of memory");
            st = NN_ENOMEM;
        }
    }
    if (st == NN_OK)
        st = nn_write_file_atomic(header, h.data, h.len, msg, msg_size);
    if (st == NN_OK)
        st = nn_write_file_atomic(path, c.data, c.len, msg, msg_size);
    free(e.slots);
    free(c.data);
    free(h.data);
    return st;
}
