/* int8 model files (format: docs/FORMAT.md, "int8 model file"): the fields
 * of src/quant/qmodel.h, little-endian, then a CRC-32. Loading reads the
 * whole file, checks that every array fits in what is left of it before
 * allocating it, checks the checksum, then every value (nn_qmodel_check:
 * scales, zero points, shapes, multipliers and shifts, weights, int32
 * bounds) before the model is prepared. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "io/io.h"
#include "io/le_buffer.h"
#include "io/model_file.h"
#include "quant/quant.h"

#define QMODEL_VERSION 1u
#define QMODEL_MAX_TEXT 65536 /* bytes of the spec and calibration texts */

/* ------------------------------------------------------------------ save */

static void put_i32(nn_le_buffer *b, int32_t v)
{
    nn_le_put(b, (uint32_t)v, 4);
}

static void put_text(nn_le_buffer *b, const char *s)
{
    nn_le_put(b, strlen(s), 4);
    nn_le_put_bytes(b, s, strlen(s));
}

static void put_mul(nn_le_buffer *b, nn_qmul m)
{
    put_i32(b, m.mult);
    put_i32(b, m.shift);
}

/* Every field in file order into b; with b->data NULL only counts (pos). */
static void encode(const nn_qmodel *q, nn_le_buffer *b)
{
    nn_le_put_bytes(b, NN_QMODEL_MAGIC, NN_QMODEL_MAGIC_SIZE);
    nn_le_put(b, QMODEL_VERSION, 4);
    put_i32(b, q->in_c);
    put_i32(b, q->in_h);
    put_i32(b, q->in_w);
    nn_le_put_floats(b, q->norm_mean, 3);
    nn_le_put_floats(b, q->norm_std, 3);
    put_text(b, q->spec);
    put_text(b, q->calibration);
    put_i32(b, q->op_count);
    put_i32(b, q->classes);
    for (int t = 0; t < q->tensor_count; t++) {
        const nn_qtensor *x = &q->tensors[t];
        nn_le_put_floats(b, &x->scale, 1);
        put_i32(b, x->zero_point);
        put_i32(b, x->c);
        put_i32(b, x->h);
        put_i32(b, x->w);
    }
    for (int i = 0; i < q->op_count; i++) {
        const nn_qop *op = &q->ops[i];
        put_i32(b, (int32_t)op->kind);
        put_i32(b, op->inputs);
        for (int t = 0; t < NN_MAX_INPUTS; t++)
            put_i32(b, op->from[t]);
        put_i32(b, op->layer);
        nn_le_put_bytes(b, op->fp32_kind, sizeof op->fp32_kind);
        switch (op->kind) {
        case NN_QOP_CONV:
        case NN_QOP_DENSE:
        case NN_QOP_AFFINE: {
            const nn_qconv *c = &op->conv;
            size_t n = (size_t)c->out_c;
            put_i32(b, c->out_c);
            put_i32(b, c->in_c);
            put_i32(b, c->kh);
            put_i32(b, c->kw);
            put_i32(b, c->stride);
            put_i32(b, c->pad);
            put_i32(b, c->lo);
            put_i32(b, c->hi);
            put_i32(b, c->relu);
            put_i32(b, c->bn_folded);
            put_i32(b, c->int32_out);
            nn_le_put_bytes(b, c->weight, n * nn_qconv_depth(c));
            nn_le_put_floats(b, c->w_scale, n);
            for (size_t o = 0; o < n; o++)
                put_i32(b, c->bias[o]);
            for (size_t o = 0; o < n; o++)
                put_mul(b, c->requant[o]);
            if (c->int32_out)
                nn_le_put_floats(b, c->acc_scale, n);
            break;
        }
        case NN_QOP_MAXPOOL:
        case NN_QOP_AVGPOOL: {
            const nn_qpool *p = &op->pool;
            put_i32(b, p->kh);
            put_i32(b, p->kw);
            put_i32(b, p->stride);
            put_i32(b, p->pad);
            put_i32(b, p->ceil_mode);
            put_i32(b, p->exclude_pad);
            put_i32(b, p->global);
            put_i32(b, p->requant);
            put_mul(b, p->mul);
            break;
        }
        case NN_QOP_ADD:
        case NN_QOP_CONCAT: {
            const nn_qjoin *j = &op->join;
            for (int t = 0; t < op->inputs; t++) {
                put_mul(b, j->in[t]);
                put_i32(b, j->in_same[t]);
            }
            put_mul(b, j->out);
            put_i32(b, j->lo);
            put_i32(b, j->hi);
            put_i32(b, j->relu);
            break;
        }
        case NN_QOP_LUT:
            nn_le_put_bytes(b, op->lut, 256);
            break;
        }
    }
}

/* Bytes of the file without its checksum (encode's fields); 0 when it
 * would not fit in a size_t. */
static size_t file_size(const nn_qmodel *q)
{
    size_t size = NN_QMODEL_MAGIC_SIZE + 4 + 12 + 24 + 4 + strlen(q->spec) +
                  4 + strlen(q->calibration) + 8 +
                  20 * (size_t)q->tensor_count;
    for (int i = 0; i < q->op_count; i++) {
        const nn_qop *op = &q->ops[i];
        size_t n = (size_t)op->conv.out_c;
        size += 60;
        switch (op->kind) {
        case NN_QOP_CONV:
        case NN_QOP_DENSE:
        case NN_QOP_AFFINE:
            size += 44 + n * nn_qconv_depth(&op->conv) + 16 * n +
                    (op->conv.int32_out ? 4 * n : 0);
            break;
        case NN_QOP_MAXPOOL:
        case NN_QOP_AVGPOOL:
            size += 40;
            break;
        case NN_QOP_ADD:
        case NN_QOP_CONCAT:
            size += 12 * (size_t)op->inputs + 20;
            break;
        case NN_QOP_LUT:
            size += 256;
            break;
        }
    }
    return size;
}

nn_status nn_qmodel_save(const nn_qmodel *q, const char *path, char *msg,
                         size_t msg_size)
{
    nn_le_buffer b = {NULL, 0, 0, 0};
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!q || !path) {
        nn_format_msg(msg, msg_size, "%s", q ? "no path" : "no model");
        return NN_EINVAL;
    }
    b.size = file_size(q) + 4;
    if (!(b.data = malloc(b.size))) {
        nn_format_msg(msg, msg_size, "out of memory for %zu bytes", b.size);
        return NN_ENOMEM;
    }
    encode(q, &b);
    nn_le_put(&b, nn_crc32(0, b.data, b.pos), 4);
    if (b.overrun || b.pos != b.size) {
        nn_format_msg(msg, msg_size, "%s: internal: the layout has %zu bytes, "
                      "%zu were written", path, b.size, b.pos);
        st = NN_ESTATE;
    } else
        st = nn_write_file_atomic(path, b.data, b.size, msg, msg_size);
    free(b.data);
    return st;
}

/* ------------------------------------------------------------------ load */

/* A signed 32-bit field. */
static int32_t get_i32(nn_le_buffer *b)
{
    return (int32_t)(uint32_t)nn_le_get(b, 4);
}

static nn_qmul get_mul(nn_le_buffer *b)
{
    nn_qmul m;
    m.mult = get_i32(b);
    m.shift = get_i32(b);
    return m;
}

/* A length-prefixed text into buf (size bytes, NUL added); 0 when it is
 * longer than buf or holds a NUL. */
static int get_text(nn_le_buffer *b, char *buf, size_t size)
{
    uint32_t len = (uint32_t)nn_le_get(b, 4);
    const unsigned char *bytes;
    if (b->overrun || len > QMODEL_MAX_TEXT)
        return 0;
    if (!(bytes = nn_le_take(b, len)) || memchr(bytes, '\0', len))
        return 0;
    /* a longer text than the struct holds is cut (it is information) */
    len = len < size - 1 ? len : (uint32_t)(size - 1);
    memcpy(buf, bytes, len);
    buf[len] = '\0';
    return 1;
}

/* The arrays of a CONV/DENSE/AFFINE op, once their sizes are known to fit
 * in what is left of the file. */
static nn_status get_conv(nn_le_buffer *b, nn_qconv *c, int i, char *msg,
                          size_t msg_size)
{
    size_t n, depth, need;
    c->out_c = get_i32(b);
    c->in_c = get_i32(b);
    c->kh = get_i32(b);
    c->kw = get_i32(b);
    c->stride = get_i32(b);
    c->pad = get_i32(b);
    c->lo = get_i32(b);
    c->hi = get_i32(b);
    c->relu = get_i32(b);
    c->bn_folded = get_i32(b);
    c->int32_out = get_i32(b);
    if (b->overrun)
        return NN_EFORMAT;
    if (c->out_c <= 0 || c->in_c <= 0 || c->kh <= 0 || c->kw <= 0 ||
        c->out_c > (1 << 24) || c->in_c > (1 << 26) || c->kh > (1 << 20) ||
        c->kw > (1 << 20) || (c->int32_out & ~1) || (c->relu & ~1) ||
        (c->bn_folded & ~1)) {
        nn_format_msg(msg, msg_size, "op %d: weight shape %dx%dx%dx%d is not "
                      "valid", i, c->out_c, c->in_c, c->kh, c->kw);
        return NN_EFORMAT;
    }
    n = (size_t)c->out_c;
    depth = nn_qconv_depth(c);
    /* checked in double: the product of four fields may pass size_t */
    if ((double)n * ((double)depth + 16.0 + 4.0 * c->int32_out) >
        (double)nn_le_left(b)) {
        nn_format_msg(msg, msg_size, "truncated: op %d's %zu x %zu weights do "
                      "not fit in the %zu bytes left", i, n, depth,
                      nn_le_left(b));
        return NN_EFORMAT;
    }
    need = n * depth;
    if (nn_qconv_alloc(c) != NN_OK) {
        nn_format_msg(msg, msg_size, "op %d: out of memory (or %zu weights "
                      "is too many)", i, need);
        return NN_ENOMEM;
    }
    memcpy(c->weight, nn_le_take(b, need), need);
    nn_le_get_floats(b, c->w_scale, n);
    for (size_t o = 0; o < n; o++)
        c->bias[o] = get_i32(b);
    for (size_t o = 0; o < n; o++)
        c->requant[o] = get_mul(b);
    if (c->int32_out)
        nn_le_get_floats(b, c->acc_scale, n);
    return b->overrun ? NN_EFORMAT : NN_OK;
}

static nn_status get_op(nn_le_buffer *b, nn_qop *op, int i, char *msg,
                        size_t msg_size)
{
    const unsigned char *kind;
    op->kind = (nn_qop_kind)get_i32(b);
    op->inputs = get_i32(b);
    for (int t = 0; t < NN_MAX_INPUTS; t++)
        op->from[t] = get_i32(b);
    op->layer = get_i32(b);
    kind = nn_le_take(b, sizeof op->fp32_kind);
    if (b->overrun)
        return NN_EFORMAT;
    memcpy(op->fp32_kind, kind, sizeof op->fp32_kind);
    op->fp32_kind[sizeof op->fp32_kind - 1] = '\0';
    if (op->inputs < 1 || op->inputs > NN_MAX_INPUTS) {
        nn_format_msg(msg, msg_size, "op %d reads %d tensors (1..%d)", i,
                      op->inputs, NN_MAX_INPUTS);
        return NN_EFORMAT;
    }
    switch (op->kind) {
    case NN_QOP_CONV:
    case NN_QOP_DENSE:
    case NN_QOP_AFFINE:
        return get_conv(b, &op->conv, i, msg, msg_size);
    case NN_QOP_MAXPOOL:
    case NN_QOP_AVGPOOL:
        op->pool.kh = get_i32(b);
        op->pool.kw = get_i32(b);
        op->pool.stride = get_i32(b);
        op->pool.pad = get_i32(b);
        op->pool.ceil_mode = get_i32(b);
        op->pool.exclude_pad = get_i32(b);
        op->pool.global = get_i32(b);
        op->pool.requant = get_i32(b);
        op->pool.mul = get_mul(b);
        if ((op->pool.global & ~1) || (op->pool.requant & ~1)) {
            nn_format_msg(msg, msg_size, "op %d: bad pooling flags", i);
            return NN_EFORMAT;
        }
        break;
    case NN_QOP_ADD:
    case NN_QOP_CONCAT:
        for (int t = 0; t < op->inputs; t++) {
            op->join.in[t] = get_mul(b);
            op->join.in_same[t] = get_i32(b);
        }
        op->join.out = get_mul(b);
        op->join.lo = get_i32(b);
        op->join.hi = get_i32(b);
        op->join.relu = get_i32(b);
        break;
    case NN_QOP_LUT: {
        const unsigned char *lut = nn_le_take(b, 256);
        if (lut)
            memcpy(op->lut, lut, 256);
        break;
    }
    default:
        nn_format_msg(msg, msg_size, "op %d: unknown kind %d", i, (int)op->kind);
        return NN_EFORMAT;
    }
    return b->overrun ? NN_EFORMAT : NN_OK;
}

/* The model in b (checksum already checked), every value checked. */
static nn_status decode(nn_le_buffer *b, nn_qmodel **out, char *msg,
                        size_t msg_size)
{
    int32_t c, h, w, ops;
    float mean[3], std[3];
    nn_qmodel *q;
    nn_status st = NN_OK;
    nn_le_take(b, NN_QMODEL_MAGIC_SIZE + 4); /* magic, version: checked */
    c = get_i32(b);
    h = get_i32(b);
    w = get_i32(b);
    nn_le_get_floats(b, mean, 3);
    nn_le_get_floats(b, std, 3);
    {
        char spec[sizeof q->spec], calibration[sizeof q->calibration];
        if (!get_text(b, spec, sizeof spec) ||
            !get_text(b, calibration, sizeof calibration)) {
            nn_format_msg(msg, msg_size, "truncated or corrupt: a text field "
                          "does not fit");
            return NN_EFORMAT;
        }
        ops = get_i32(b);
        if (b->overrun || ops < 1 || ops > NN_QMAX_OPS ||
            (size_t)(ops + 1) * 20 > nn_le_left(b)) {
            nn_format_msg(msg, msg_size, "%d ops: not in 1..%d or more than "
                          "the file holds", (int)ops, NN_QMAX_OPS);
            return NN_EFORMAT;
        }
        if (!(q = nn_qmodel_new(ops))) {
            nn_format_msg(msg, msg_size, "out of memory");
            return NN_ENOMEM;
        }
        memcpy(q->spec, spec, sizeof spec);
        memcpy(q->calibration, calibration, sizeof calibration);
    }
    q->in_c = c;
    q->in_h = h;
    q->in_w = w;
    for (int k = 0; k < 3; k++) {
        q->norm_mean[k] = mean[k];
        q->norm_std[k] = std[k];
        if (!isfinite(mean[k]) || !isfinite(std[k]) || !(std[k] > 0.0f)) {
            nn_format_msg(msg, msg_size, "input normalisation (mean %g, std "
                          "%g) is not valid", (double)mean[k], (double)std[k]);
            st = NN_EFORMAT;
        }
    }
    q->classes = get_i32(b);
    for (int t = 0; t < q->tensor_count; t++) {
        nn_qtensor *x = &q->tensors[t];
        nn_le_get_floats(b, &x->scale, 1);
        x->zero_point = get_i32(b);
        x->c = get_i32(b);
        x->h = get_i32(b);
        x->w = get_i32(b);
    }
    for (int i = 0; i < ops && st == NN_OK; i++) {
        st = get_op(b, &q->ops[i], i, msg, msg_size);
        if (st == NN_EFORMAT && b->overrun)
            nn_format_msg(msg, msg_size, "truncated: the file ends inside op "
                          "%d", i);
    }
    if (st == NN_OK && nn_le_left(b) != 0) {
        nn_format_msg(msg, msg_size, "%zu bytes after the last op",
                      nn_le_left(b));
        st = NN_EFORMAT;
    }
    if (st == NN_OK)
        st = nn_qmodel_check(q, msg, msg_size);
    if (st != NN_OK) {
        nn_qmodel_free(q);
        return st;
    }
    *out = q;
    return NN_OK;
}

/* 1 when the bytes start with the int8 magic. */
static int is_int8(const unsigned char *data, size_t size)
{
    return size >= NN_QMODEL_MAGIC_SIZE &&
           memcmp(data, NN_QMODEL_MAGIC, NN_QMODEL_MAGIC_SIZE) == 0;
}

nn_status nn_qmodel_decode(const unsigned char *data, size_t size,
                           nn_qmodel **out, char *why, size_t why_size)
{
    uint32_t version;
    nn_le_buffer b = {(unsigned char *)(uintptr_t)data, size, 0, 0};
    *out = NULL;
    if (!is_int8(data, size)) {
        nn_format_msg(why, why_size, "not an int8 model file (bad magic%s)",
                      size >= 8 && !memcmp(data, "NNMODEL", 8)
                          ? ": an fp32 model file, nn_model_load reads it"
                          : "");
        return NN_EFORMAT;
    }
    if (size < NN_QMODEL_MAGIC_SIZE + 8) {
        nn_format_msg(why, why_size, "truncated: %zu bytes", size);
        return NN_EFORMAT;
    }
    b.pos = NN_QMODEL_MAGIC_SIZE;
    version = (uint32_t)nn_le_get(&b, 4);
    if (version != QMODEL_VERSION) {
        nn_format_msg(why, why_size, "unsupported int8 format version %u "
                      "(this library reads version %u)", version,
                      QMODEL_VERSION);
        return NN_EFORMAT;
    }
    {
        size_t body = size - 4;
        nn_le_buffer crc = {(unsigned char *)(uintptr_t)data + body, 4, 0, 0};
        nn_le_buffer fields = {(unsigned char *)(uintptr_t)data, body, 0, 0};
        if (nn_crc32(0, data, body) != (uint32_t)nn_le_get(&crc, 4)) {
            nn_format_msg(why, why_size, "checksum mismatch: the file is "
                          "truncated or corrupt");
            return NN_EFORMAT;
        }
        return decode(&fields, out, why, why_size);
    }
}

nn_status nn_qmodel_load(const char *path, int max_batch, nn_qmodel **out,
                         char *msg, size_t msg_size)
{
    unsigned char *data = NULL;
    size_t size = 0;
    nn_qmodel *q = NULL;
    char why[256];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (out)
        *out = NULL;
    if (!path || !out || max_batch <= 0) {
        nn_format_msg(msg, msg_size, "%s", !path ? "no path" : !out
                      ? "no output model" : "max_batch must be positive");
        return NN_EINVAL;
    }
    st = nn_read_file(path, MODEL_MAX_BYTES, NN_DATA_MAX_BYTES, &data, &size,
                      msg, msg_size);
    if (st != NN_OK)
        return st;
    st = nn_qmodel_decode(data, size, &q, why, sizeof why);
    if (st == NN_OK && (st = nn_qmodel_prepare(q, max_batch, why,
                                               sizeof why)) != NN_OK) {
        nn_qmodel_free(q);
        q = NULL;
    }
    if (st == NN_OK)
        *out = q;
    else
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(data);
    return st;
}

int nn_model_file_is_int8(const char *path)
{
    unsigned char head[NN_QMODEL_MAGIC_SIZE];
    size_t got;
    struct stat st;
    FILE *f;
    /* a regular file only: opening a FIFO would block */
    if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        !(f = fopen(path, "rb")))
        return 0;
    got = fread(head, 1, sizeof head, f);
    fclose(f);
    return is_int8(head, got);
}
