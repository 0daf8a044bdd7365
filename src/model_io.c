/* Model files (format: docs/FORMAT.md). Saving lays the whole file out in
 * memory and writes it to a temporary file that is renamed over the target;
 * loading reads the whole file and checks every field, the sizes against
 * the file's length, before it builds the net. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL_MAGIC "NNMODEL"            /* 8 bytes with its NUL */
#define MODEL_MAGIC_SIZE 8
#define MODEL_HEADER_SIZE 52 /* magic, version, c, h, w, mean, std, spec length */
#define MODEL_VERSION 1u
#define MODEL_MAX_SPEC 65536             /* bytes of architecture spec */
#define MODEL_MAX_BYTES ((size_t)1 << 31) /* largest file loaded */

/* A byte buffer read or written from the front; a field that does not fit
 * sets `overrun` instead of touching memory past the end. */
typedef struct {
    unsigned char *data;
    size_t size, pos;
    int overrun; /* 1 once a field did not fit (a truncated file) */
} le_buffer;

/* Room for n more bytes at the cursor: a pointer to them, or NULL. */
static unsigned char *take(le_buffer *b, size_t n)
{
    unsigned char *p;
    if (b->overrun || n > b->size - b->pos) {
        b->overrun = 1;
        return NULL;
    }
    p = b->data + b->pos;
    b->pos += n;
    return p;
}

/* Bytes left after the cursor. */
static size_t left(const le_buffer *b)
{
    return b->size - b->pos;
}

/* Copies n bytes in at the cursor. */
static void put_bytes(le_buffer *b, const void *src, size_t n)
{
    unsigned char *p = take(b, n);
    if (p)
        memcpy(p, src, n);
}

/* The one little-endian writer: the low `bytes` bytes of v, lowest first. */
static void put_le(le_buffer *b, uint64_t v, int bytes)
{
    unsigned char *p = take(b, (size_t)bytes);
    for (int i = 0; p && i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* The one little-endian reader: `bytes` bytes, lowest first (0 when the
 * buffer is short). */
static uint64_t get_le(le_buffer *b, int bytes)
{
    const unsigned char *p = take(b, (size_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* n floats as IEEE-754 binary32 bit patterns, whatever the host's order
 * (a plain copy where the host is little-endian already). */
static void put_floats(le_buffer *b, const float *x, size_t n)
{
    if (host_is_little_endian()) {
        put_bytes(b, x, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], sizeof bits);
        put_le(b, bits, 4);
    }
}

static void get_floats(le_buffer *b, float *x, size_t n)
{
    const unsigned char *p;
    if (host_is_little_endian()) {
        if ((p = take(b, 4 * n)))
            memcpy(x, p, 4 * n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)get_le(b, 4);
        memcpy(&x[i], &bits, sizeof bits);
    }
}

/* ------------------------------------------------------------------ save */

/* The net's spec in a new string (free with free()). */
static nn_status net_spec(const nn_net *net, char **out)
{
    for (size_t size = 256; size <= MODEL_MAX_SPEC + 1; size *= 2) {
        char *spec = malloc(size);
        nn_status st;
        if (!spec)
            return NN_ENOMEM;
        st = nn_net_spec(net, spec, size);
        if (st == NN_OK) {
            *out = spec;
            return NN_OK;
        }
        free(spec);
        if (st != NN_EOVERFLOW)
            return st;
    }
    return NN_EOVERFLOW;
}

/* Bytes of a file with a spec of spec_len, params and state floats; 0 on
 * overflow of size_t. */
static size_t file_size(size_t spec_len, size_t params, size_t state)
{
    size_t fixed = MODEL_HEADER_SIZE + spec_len + 8 + 8 + 4;
    if (params > (SIZE_MAX - fixed) / 4 ||
        state > (SIZE_MAX - fixed - 4 * params) / 4)
        return 0;
    return fixed + 4 * params + 4 * state;
}

/* Lays the whole file out in b, which has exactly the room file_size()
 * gives for this net and spec. */
static void encode(nn_net *net, const char *spec, le_buffer *b)
{
    size_t spec_len = strlen(spec), params = nn_net_param_count(net);
    size_t state = nn_net_state_count(net);
    int c, h, w;
    float mean[3], std[3];
    nn_net_input_shape(net, &c, &h, &w);
    nn_net_normalization(net, mean, std);
    put_bytes(b, MODEL_MAGIC, MODEL_MAGIC_SIZE);
    put_le(b, MODEL_VERSION, 4);
    put_le(b, (uint32_t)c, 4);
    put_le(b, (uint32_t)h, 4);
    put_le(b, (uint32_t)w, 4);
    put_floats(b, mean, 3);
    put_floats(b, std, 3);
    put_le(b, spec_len, 4);
    put_bytes(b, spec, spec_len);
    put_le(b, params, 8);
    put_floats(b, nn_net_params(net), params);
    put_le(b, state, 8);
    put_floats(b, nn_net_state(net), state);
    put_le(b, nn_crc32(0, b->data, b->pos), 4);
}

/* The whole model file for net in a new buffer b->data of b->size bytes;
 * msg says why when it cannot be made. */
static nn_status model_encode(nn_net *net, le_buffer *b, char *msg,
                              size_t msg_size)
{
    char *spec = NULL;
    nn_status st;
    if (nn_net_max_batch(net) == 0) {
        nn_format_msg(msg, msg_size, "the net is not built");
        return NN_ESTATE;
    }
    st = net_spec(net, &spec);
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "cannot describe the net (%s)",
                      nn_status_str(st));
        return st;
    }
    b->size = file_size(strlen(spec), nn_net_param_count(net),
                        nn_net_state_count(net));
    b->pos = 0;
    b->overrun = 0;
    if (b->size == 0 || b->size > MODEL_MAX_BYTES) {
        nn_format_msg(msg, msg_size, "the model needs more than the %zu "
                      "bytes a model file may hold", MODEL_MAX_BYTES);
        st = NN_EOVERFLOW;
    } else if (!(b->data = malloc(b->size))) {
        nn_format_msg(msg, msg_size, "out of memory for %zu bytes", b->size);
        st = NN_ENOMEM;
    } else
        encode(net, spec, b);
    free(spec);
    return st;
}

nn_status nn_model_save(nn_net *net, const char *path, char *msg,
                        size_t msg_size)
{
    le_buffer b = {NULL, 0, 0, 0};
    char why[256];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !path) {
        nn_format_msg(msg, msg_size, "%s", net ? "no path" : "no net");
        return NN_EINVAL;
    }
    st = model_encode(net, &b, why, sizeof why);
    if (st == NN_OK)
        st = nn_write_file_atomic(path, b.data, b.size, msg, msg_size);
    else
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(b.data);
    return st;
}

/* ------------------------------------------------------------------ load */

/* The fields of a model file, pointing into its bytes. */
typedef struct {
    uint32_t version, c, h, w;
    float mean[3], std[3]; /* input normalization */
    char *spec;            /* NUL-terminated copy */
    uint64_t params, state;
    le_buffer param_bytes, state_bytes;
} model_fields;

/* A count of floats followed by the floats themselves; 0 when the count
 * does not fit in what is left of the file. */
static int get_float_block(le_buffer *b, uint64_t *count, le_buffer *floats)
{
    *count = get_le(b, 8);
    if (b->overrun || *count > left(b) / 4)
        return 0;
    floats->data = take(b, (size_t)*count * 4);
    floats->size = (size_t)*count * 4;
    floats->pos = 0;
    floats->overrun = 0;
    return 1;
}

/* Magic, version, input shape and normalization, and spec (copied to
 * m->spec, malloc'd). */
static nn_status parse_header(le_buffer *b, model_fields *m, char *msg,
                              size_t msg_size)
{
    const unsigned char *magic = take(b, MODEL_MAGIC_SIZE), *spec;
    uint32_t spec_len;
    if (memcmp(b->data, MODEL_MAGIC, magic ? MODEL_MAGIC_SIZE : b->size)) {
        nn_format_msg(msg, msg_size, "bad magic: not a libnn model file");
        return NN_EFORMAT;
    }
    m->version = (uint32_t)get_le(b, 4);
    if (!b->overrun && m->version != MODEL_VERSION) {
        nn_format_msg(msg, msg_size, "unsupported format version %u (this "
                      "library reads version %u)", m->version, MODEL_VERSION);
        return NN_EFORMAT;
    }
    m->c = (uint32_t)get_le(b, 4);
    m->h = (uint32_t)get_le(b, 4);
    m->w = (uint32_t)get_le(b, 4);
    get_floats(b, m->mean, 3);
    get_floats(b, m->std, 3);
    spec_len = (uint32_t)get_le(b, 4);
    if (!b->overrun && (spec_len == 0 || spec_len > MODEL_MAX_SPEC)) {
        nn_format_msg(msg, msg_size, "spec length %u is not in 1..%d",
                      spec_len, MODEL_MAX_SPEC);
        return NN_EFORMAT;
    }
    spec = take(b, spec_len);
    if (!spec) {
        nn_format_msg(msg, msg_size, "truncated: the file (%zu bytes) ends "
                      "inside the header", b->size);
        return NN_EFORMAT;
    }
    if (memchr(spec, '\0', spec_len)) {
        nn_format_msg(msg, msg_size, "the spec holds a NUL byte");
        return NN_EFORMAT;
    }
    m->spec = malloc(spec_len + 1u);
    if (!m->spec) {
        nn_format_msg(msg, msg_size, "out of memory");
        return NN_ENOMEM;
    }
    memcpy(m->spec, spec, spec_len);
    m->spec[spec_len] = '\0';
    return NN_OK;
}

/* Checks the layout of a whole file and fills *m. Nothing is allocated
 * before its size is known to fit in the file. */
static nn_status parse_fields(le_buffer *b, model_fields *m, char *msg,
                              size_t msg_size)
{
    uint32_t stored_crc;
    size_t body;
    nn_status st = parse_header(b, m, msg, msg_size);
    if (st != NN_OK)
        return st;
    if (!get_float_block(b, &m->params, &m->param_bytes) ||
        !get_float_block(b, &m->state, &m->state_bytes)) {
        nn_format_msg(msg, msg_size, "truncated or corrupt: a float count "
                      "does not fit in the %zu-byte file", b->size);
        return NN_EFORMAT;
    }
    body = b->pos;
    stored_crc = (uint32_t)get_le(b, 4);
    if (b->overrun) {
        nn_format_msg(msg, msg_size, "truncated: the checksum is missing");
        return NN_EFORMAT;
    }
    if (left(b) != 0) {
        nn_format_msg(msg, msg_size, "%zu trailing bytes after the checksum",
                      left(b));
        return NN_EFORMAT;
    }
    if (nn_crc32(0, b->data, body) != stored_crc) {
        nn_format_msg(msg, msg_size, "checksum mismatch: the file is corrupt");
        return NN_EFORMAT;
    }
    return NN_OK;
}

/* Builds the net the fields describe and fills in its parameters and
 * state; *out stays NULL on failure. */
static nn_status build_net(model_fields *m, int max_batch, nn_net **out,
                           char *msg, size_t msg_size)
{
    char why[160];
    nn_net *net = NULL;
    size_t params, state;
    nn_status st;
    if (m->c > INT32_MAX || m->h > INT32_MAX || m->w > INT32_MAX ||
        nn_net_create((int)m->c, (int)m->h, (int)m->w, &net) != NN_OK) {
        nn_format_msg(msg, msg_size, "input shape %ux%ux%u is not valid",
                      m->c, m->h, m->w);
        return NN_EFORMAT;
    }
    if (nn_net_set_normalization(net, m->mean, m->std) != NN_OK) {
        nn_format_msg(msg, msg_size, "input normalization is not valid (mean "
                      "%g %g %g, std %g %g %g)", m->mean[0], m->mean[1],
                      m->mean[2], m->std[0], m->std[1], m->std[2]);
        st = NN_EFORMAT;
    } else if (nn_net_add_spec(net, m->spec, why, sizeof why) != NN_OK) {
        nn_format_msg(msg, msg_size, "bad architecture: %s", why);
        st = NN_EFORMAT;
    } else if ((st = nn_net_plan(net, max_batch, &params, &state)) != NN_OK ||
               params != m->params || state != m->state) {
        /* Checked before building: a short file must not make the net
         * allocate more than the file's own counts justify. */
        if (st == NN_OK)
            nn_format_msg(msg, msg_size, "the file holds %llu parameters and "
                          "%llu state values, its architecture has %zu and %zu",
                          (unsigned long long)m->params,
                          (unsigned long long)m->state, params, state);
        else
            nn_format_msg(msg, msg_size, "architecture does not fit input "
                          "%ux%ux%u (%s): %s", m->c, m->h, m->w,
                          nn_status_str(st), m->spec);
        st = NN_EFORMAT;
    } else if ((st = nn_net_build(net, max_batch, 0)) != NN_OK) {
        nn_format_msg(msg, msg_size, "cannot build the net for batches of %d: %s",
                      max_batch, nn_status_str(st));
    } else {
        get_floats(&m->param_bytes, nn_net_params(net), (size_t)m->params);
        get_floats(&m->state_bytes, nn_net_state(net), (size_t)m->state);
        *out = net;
        return NN_OK;
    }
    nn_net_destroy(net);
    return st;
}

/* A whole model file in b into a new net; why says what is wrong. */
static nn_status model_decode(le_buffer *b, int max_batch, nn_net **out,
                              char *why, size_t why_size)
{
    model_fields m;
    nn_status st;
    memset(&m, 0, sizeof m);
    st = parse_fields(b, &m, why, why_size);
    if (st == NN_OK)
        st = build_net(&m, max_batch, out, why, why_size);
    free(m.spec);
    return st;
}

/* Reads path whole (at most MODEL_MAX_BYTES) and checks the arguments
 * every loader shares. */
static nn_status read_whole(const char *path, int max_batch, nn_net **out,
                            le_buffer *b, char *msg, size_t msg_size)
{
    nn_format_msg(msg, msg_size, "%s", "");
    if (out)
        *out = NULL;
    if (!path || !out || max_batch <= 0) {
        nn_format_msg(msg, msg_size, "%s", !path ? "no path" : !out
                      ? "no output net" : "max_batch must be positive");
        return NN_EINVAL;
    }
    return nn_read_file(path, MODEL_MAX_BYTES, &b->data, &b->size, msg,
                        msg_size);
}

nn_status nn_model_load(const char *path, int max_batch, nn_net **out,
                        char *msg, size_t msg_size)
{
    le_buffer b = {NULL, 0, 0, 0};
    char why[256];
    nn_status st = read_whole(path, max_batch, out, &b, msg, msg_size);
    if (st != NN_OK)
        return st;
    st = model_decode(&b, max_batch, out, why, sizeof why);
    if (st != NN_OK)
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(b.data);
    return st;
}

/* ----------------------------------------------------------- checkpoints
 * magic "NNCKPT\0\0", u32 version, u32 epochs done, u64 rng state x4,
 * u64 optimizer steps, u64 model bytes + a whole model file, u64 count +
 * f32 velocity, u64 count + f32 second moments, u32 CRC-32 of all before. */

#define CKPT_MAGIC "NNCKPT\0"
#define CKPT_VERSION 1u
#define CKPT_FIXED (8 + 4 + 4 + 32 + 8 + 8 + 8 + 8 + 4)

nn_status nn_checkpoint_save(nn_net *net, const nn_train_state *ts,
                             const char *path, char *msg, size_t msg_size)
{
    le_buffer model = {NULL, 0, 0, 0}, b = {NULL, 0, 0, 0};
    size_t n;
    char why[256];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !ts || !path || ts->epoch < 0) {
        nn_format_msg(msg, msg_size, "invalid argument");
        return NN_EINVAL;
    }
    st = model_encode(net, &model, why, sizeof why);
    n = nn_net_param_count(net);
    if (st == NN_OK) {
        b.size = CKPT_FIXED + model.size + 8 * n; /* model is under 2 GiB */
        if (!(b.data = malloc(b.size))) {
            nn_format_msg(why, sizeof why, "out of memory for %zu bytes", b.size);
            st = NN_ENOMEM;
        }
    }
    if (st != NN_OK) {
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
        free(model.data);
        return st;
    }
    put_bytes(&b, CKPT_MAGIC, 8);
    put_le(&b, CKPT_VERSION, 4);
    put_le(&b, (uint32_t)ts->epoch, 4);
    for (int i = 0; i < 4; i++)
        put_le(&b, ts->rng.s[i], 8);
    put_le(&b, (uint64_t)*nn_net_step_count(net), 8);
    put_le(&b, model.size, 8);
    put_bytes(&b, model.data, model.size);
    put_le(&b, n, 8);
    put_floats(&b, nn_net_velocity(net), n);
    put_le(&b, n, 8);
    put_floats(&b, nn_net_moment2(net), n);
    put_le(&b, nn_crc32(0, b.data, b.pos), 4);
    st = nn_write_file_atomic(path, b.data, b.size, msg, msg_size);
    free(model.data);
    free(b.data);
    return st;
}

/* The fixed fields and the three blocks of a checkpoint, CRC checked. */
static nn_status parse_checkpoint(le_buffer *b, nn_train_state *ts,
                                  uint64_t *steps, le_buffer *model,
                                  le_buffer *velocity, le_buffer *moment2,
                                  uint64_t *counts, char *why, size_t why_size)
{
    const unsigned char *magic = take(b, 8);
    uint64_t model_size;
    size_t body;
    if (!magic || memcmp(magic, CKPT_MAGIC, 8)) {
        nn_format_msg(why, why_size, "bad magic: not a libnn checkpoint");
        return NN_EFORMAT;
    }
    if (get_le(b, 4) != CKPT_VERSION) {
        nn_format_msg(why, why_size, "unsupported checkpoint version");
        return NN_EFORMAT;
    }
    ts->epoch = (int)(get_le(b, 4) & 0x7fffffff);
    for (int i = 0; i < 4; i++)
        ts->rng.s[i] = get_le(b, 8);
    *steps = get_le(b, 8);
    model_size = get_le(b, 8);
    if (b->overrun || model_size > left(b)) {
        nn_format_msg(why, why_size, "truncated: the model does not fit in "
                      "the %zu-byte file", b->size);
        return NN_EFORMAT;
    }
    model->data = take(b, (size_t)model_size);
    model->size = (size_t)model_size;
    if (!get_float_block(b, &counts[0], velocity) ||
        !get_float_block(b, &counts[1], moment2)) {
        nn_format_msg(why, why_size, "truncated or corrupt optimizer state");
        return NN_EFORMAT;
    }
    body = b->pos;
    if (get_le(b, 4) != nn_crc32(0, b->data, body) || b->overrun) {
        nn_format_msg(why, why_size, b->overrun ? "truncated: the checksum is missing"
                                                : "checksum mismatch: the file is corrupt");
        return NN_EFORMAT;
    }
    if (left(b) != 0) {
        nn_format_msg(why, why_size, "%zu trailing bytes after the checksum", left(b));
        return NN_EFORMAT;
    }
    return NN_OK;
}

nn_status nn_checkpoint_load(const char *path, int max_batch, nn_net **out,
                             nn_train_state *ts, char *msg, size_t msg_size)
{
    le_buffer b = {NULL, 0, 0, 0}, model = {NULL, 0, 0, 0};
    le_buffer velocity = {NULL, 0, 0, 0}, moment2 = {NULL, 0, 0, 0};
    uint64_t steps, counts[2];
    char why[256];
    nn_status st = ts ? read_whole(path, max_batch, out, &b, msg, msg_size)
                      : NN_EINVAL;
    if (st != NN_OK)
        return st;
    st = parse_checkpoint(&b, ts, &steps, &model, &velocity, &moment2,
                          counts, why, sizeof why);
    if (st == NN_OK)
        st = model_decode(&model, max_batch, out, why, sizeof why);
    if (st == NN_OK && (counts[0] != nn_net_param_count(*out) ||
                        counts[1] != nn_net_param_count(*out) ||
                        steps > (uint64_t)LONG_MAX)) {
        nn_format_msg(why, sizeof why, "optimizer state does not match the model");
        nn_net_destroy(*out);
        *out = NULL;
        st = NN_EFORMAT;
    }
    if (st == NN_OK) {
        get_floats(&velocity, nn_net_velocity(*out), (size_t)counts[0]);
        get_floats(&moment2, nn_net_moment2(*out), (size_t)counts[1]);
        *nn_net_step_count(*out) = (long)steps;
    } else
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(b.data);
    return st;
}
