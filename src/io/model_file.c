/* Model files (format: docs/FORMAT.md). Saving lays the whole file out in
 * memory and writes it to a temporary file that is renamed over the target;
 * loading reads the whole file and checks every field, the sizes against
 * the file's length, before it builds the net. */
#include "io/model_file.h"

#include <errno.h>
#include <math.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "core/util.h"
#include "io/io.h"

#define MODEL_MAGIC "NNMODEL"            /* 8 bytes with its NUL */
#define MODEL_MAGIC_SIZE 8
#define MODEL_HEADER_SIZE 52 /* magic, version, c, h, w, mean, std, spec length */
#define MODEL_VERSION 2u  /* 2: the spec may name the outputs a layer reads */
#define MODEL_FIRST_VERSION 1u
#define MODEL_MAX_SPEC 65536             /* bytes of architecture spec */

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
static void encode(nn_net *net, const char *spec, nn_le_buffer *b)
{
    size_t spec_len = strlen(spec), params = nn_net_param_count(net);
    size_t state = nn_net_state_count(net);
    int c, h, w;
    float mean[3], std[3];
    nn_net_input_shape(net, &c, &h, &w);
    nn_net_normalization(net, mean, std);
    nn_le_put_bytes(b, MODEL_MAGIC, MODEL_MAGIC_SIZE);
    nn_le_put(b, MODEL_VERSION, 4);
    nn_le_put(b, (uint32_t)c, 4);
    nn_le_put(b, (uint32_t)h, 4);
    nn_le_put(b, (uint32_t)w, 4);
    nn_le_put_floats(b, mean, 3);
    nn_le_put_floats(b, std, 3);
    nn_le_put(b, spec_len, 4);
    nn_le_put_bytes(b, spec, spec_len);
    nn_le_put(b, params, 8);
    nn_le_put_floats(b, nn_net_params(net), params);
    nn_le_put(b, state, 8);
    nn_le_put_floats(b, nn_net_state(net), state);
    nn_le_put(b, nn_crc32(0, b->data, b->pos), 4);
}

nn_status nn_model_encode(nn_net *net, nn_le_buffer *b, char *msg,
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
    nn_le_buffer b = {NULL, 0, 0, 0};
    char why[256];
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !path) {
        nn_format_msg(msg, msg_size, "%s", net ? "no path" : "no net");
        return NN_EINVAL;
    }
    st = nn_model_encode(net, &b, why, sizeof why);
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
    const char *spec_bytes; /* the spec in the file, not NUL-terminated */
    uint32_t spec_len;
    uint64_t params, state;
    nn_le_buffer param_bytes, state_bytes;
} model_fields;

/* Magic, version, input shape and normalization, and where the spec is. */
static nn_status parse_header(nn_le_buffer *b, model_fields *m, char *msg,
                              size_t msg_size)
{
    const unsigned char *magic = nn_le_take(b, MODEL_MAGIC_SIZE), *spec;
    uint32_t spec_len;
    if (magic && !memcmp(b->data, NN_QMODEL_MAGIC, NN_QMODEL_MAGIC_SIZE)) {
        nn_format_msg(msg, msg_size, "an int8 model file: an int8 model can "
                      "be run, not trained (nn_qmodel_load reads it, predict "
                      "runs it)");
        return NN_EFORMAT;
    }
    if (memcmp(b->data, MODEL_MAGIC, magic ? MODEL_MAGIC_SIZE : b->size)) {
        nn_format_msg(msg, msg_size, "bad magic: not a libnn model file");
        return NN_EFORMAT;
    }
    m->version = (uint32_t)nn_le_get(b, 4);
    if (!b->overrun && (m->version < MODEL_FIRST_VERSION ||
                        m->version > MODEL_VERSION)) {
        nn_format_msg(msg, msg_size, "unsupported format version %u (this "
                      "library reads versions %u to %u)", m->version,
                      MODEL_FIRST_VERSION, MODEL_VERSION);
        return NN_EFORMAT;
    }
    m->c = (uint32_t)nn_le_get(b, 4);
    m->h = (uint32_t)nn_le_get(b, 4);
    m->w = (uint32_t)nn_le_get(b, 4);
    nn_le_get_floats(b, m->mean, 3);
    nn_le_get_floats(b, m->std, 3);
    spec_len = (uint32_t)nn_le_get(b, 4);
    if (!b->overrun && (spec_len == 0 || spec_len > MODEL_MAX_SPEC)) {
        nn_format_msg(msg, msg_size, "spec length %u is not in 1..%d",
                      spec_len, MODEL_MAX_SPEC);
        return NN_EFORMAT;
    }
    spec = nn_le_take(b, spec_len);
    if (!spec) {
        nn_format_msg(msg, msg_size, "truncated: the file (%zu bytes) ends "
                      "inside the header", b->size);
        return NN_EFORMAT;
    }
    if (memchr(spec, '\0', spec_len)) {
        nn_format_msg(msg, msg_size, "the spec holds a NUL byte");
        return NN_EFORMAT;
    }
    if (m->version < 2 && (memchr(spec, '(', spec_len) ||
                           memchr(spec, '@', spec_len))) {
        nn_format_msg(msg, msg_size, "a version %u file holds a chain of "
                      "layers, but its spec names inputs", m->version);
        return NN_EFORMAT;
    }
    m->spec_bytes = (const char *)spec;
    m->spec_len = spec_len;
    return NN_OK;
}

/* Checks the layout of a whole file and fills *m. Nothing is allocated
 * before its size is known to fit in the file. */
static nn_status parse_fields(nn_le_buffer *b, model_fields *m, char *msg,
                              size_t msg_size)
{
    uint32_t stored_crc;
    size_t body;
    nn_status st = parse_header(b, m, msg, msg_size);
    if (st != NN_OK)
        return st;
    if (!nn_le_get_block(b, &m->params, &m->param_bytes) ||
        !nn_le_get_block(b, &m->state, &m->state_bytes)) {
        nn_format_msg(msg, msg_size, "truncated or corrupt: a float count "
                      "does not fit in the %zu-byte file", b->size);
        return NN_EFORMAT;
    }
    body = b->pos;
    stored_crc = (uint32_t)nn_le_get(b, 4);
    if (b->overrun) {
        nn_format_msg(msg, msg_size, "truncated: the checksum is missing");
        return NN_EFORMAT;
    }
    if (nn_le_left(b) != 0) {
        nn_format_msg(msg, msg_size, "%zu trailing bytes after the checksum",
                      nn_le_left(b));
        return NN_EFORMAT;
    }
    if (nn_crc32(0, b->data, body) != stored_crc) {
        nn_format_msg(msg, msg_size, "checksum mismatch: the file is corrupt");
        return NN_EFORMAT;
    }
    return NN_OK;
}

/* Where layer i's parameters (or state) start in the net's flat array. */
static size_t layer_offset(nn_net *net, int i, int state)
{
    size_t offset = 0;
    for (int j = 0; j < i; j++) {
        nn_layer_info info;
        nn_net_layer_info(net, j, &info);
        offset += state ? info.state : info.params;
    }
    return offset;
}

int nn_model_invalid_value(nn_net *net, char *msg, size_t msg_size)
{
    for (int i = 0; i < nn_net_layer_count(net); i++) {
        nn_layer_field fields[NN_MAX_FIELDS];
        nn_layer_info info;
        int count = 0;
        nn_net_layer_info(net, i, &info);
        nn_net_layer_fields(net, i, fields, &count);
        for (int f = 0; f < count; f++) {
            const float *base = fields[f].state ? nn_net_state(net)
                                                : nn_net_params(net);
            const float *v = base + layer_offset(net, i, fields[f].state) +
                             fields[f].offset;
            for (size_t k = 0; k < fields[f].count; k++)
                if (!isfinite(v[k]) || (fields[f].nonnegative && v[k] < 0)) {
                    nn_format_msg(msg, msg_size, "layer %d (%s) %s[%zu] is "
                                  "%g: %s", i, info.kind, fields[f].name, k,
                                  (double)v[k], isfinite(v[k])
                                  ? "must not be negative" : "not finite");
                    return 1;
                }
        }
    }
    return 0;
}

/* The spec as a NUL-terminated string: in the net's buffer when it has
 * one, else a new one to free() (*heap). NULL when out of memory. */
static char *spec_copy(const model_fields *m, nn_net *net, char **heap)
{
    char *spec = nn_net_buffer_used(net) ? nn_net_take(net, m->spec_len + 1u)
                                         : (*heap = malloc(m->spec_len + 1u));
    if (spec) {
        memcpy(spec, m->spec_bytes, m->spec_len);
        spec[m->spec_len] = '\0';
    }
    return spec;
}

/* The unbuilt net the fields describe, created in buffer (NULL: on the
 * heap), its layers added and its counts checked against the file's;
 * *out stays NULL on failure. NN_ENOMEM when the buffer is too small. */
static nn_status describe_net(const model_fields *m, int max_batch,
                              void *buffer, size_t buffer_size, nn_net **out,
                              char *msg, size_t msg_size)
{
    char why[160], *heap = NULL, *spec;
    nn_net *net = NULL;
    size_t params, state;
    nn_status st = NN_EFORMAT;
    if (m->c > INT32_MAX || m->h > INT32_MAX || m->w > INT32_MAX ||
        (st = buffer ? nn_net_create_in((int)m->c, (int)m->h, (int)m->w,
                                        buffer, buffer_size, &net)
                     : nn_net_create((int)m->c, (int)m->h, (int)m->w, &net))
            != NN_OK) {
        if (st == NN_ENOMEM)
            return st;
        nn_format_msg(msg, msg_size, "input shape %ux%ux%u is not valid",
                      m->c, m->h, m->w);
        return NN_EFORMAT;
    }
    if (nn_net_set_normalization(net, m->mean, m->std) != NN_OK) {
        nn_format_msg(msg, msg_size, "input normalization is not valid (mean "
                      "%g %g %g, std %g %g %g)", m->mean[0], m->mean[1],
                      m->mean[2], m->std[0], m->std[1], m->std[2]);
        st = NN_EFORMAT;
    } else if (!(spec = spec_copy(m, net, &heap))) {
        nn_format_msg(msg, msg_size, "out of memory");
        st = NN_ENOMEM;
    } else if ((st = nn_net_add_spec(net, spec, why, sizeof why)) != NN_OK) {
        nn_format_msg(msg, msg_size, "bad architecture: %s", why);
        st = st == NN_ENOMEM ? st : NN_EFORMAT;
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
                          nn_status_str(st), spec);
        st = NN_EFORMAT;
    } else
        *out = net;
    free(heap);
    if (st != NN_OK)
        nn_net_destroy(net);
    return st;
}

/* Builds the net the fields describe (for inference only when asked; in
 * buffer when not NULL) and fills in its parameters and state; *out stays
 * NULL on failure. */
static nn_status build_net(const model_fields *m, int max_batch,
                           int inference, void *buffer, size_t buffer_size,
                           nn_net **out, char *msg, size_t msg_size)
{
    nn_net *net = NULL;
    nn_status st = describe_net(m, max_batch, buffer, buffer_size, &net, msg,
                                msg_size);
    if (st != NN_OK)
        return st;
    if ((st = inference ? nn_net_build_inference(net, max_batch, 0)
                        : nn_net_build(net, max_batch, 0)) != NN_OK) {
        nn_format_msg(msg, msg_size, "cannot build the net for batches of %d: %s",
                      max_batch, nn_status_str(st));
    } else {
        nn_le_buffer params = m->param_bytes, state = m->state_bytes;
        nn_le_get_floats(&params, nn_net_params(net), (size_t)m->params);
        nn_le_get_floats(&state, nn_net_state(net), (size_t)m->state);
        if (!nn_model_invalid_value(net, msg, msg_size)) {
            *out = net;
            return NN_OK;
        }
        st = NN_EFORMAT;
    }
    nn_net_destroy(net);
    return st;
}

nn_status nn_model_decode(nn_le_buffer *b, int max_batch, int inference,
                          nn_net **out, char *why, size_t why_size)
{
    model_fields m;
    nn_status st;
    memset(&m, 0, sizeof m);
    st = parse_fields(b, &m, why, why_size);
    if (st == NN_OK)
        st = build_net(&m, max_batch, inference, NULL, 0, out, why, why_size);
    return st;
}

nn_status nn_model_read_whole(const char *path, int max_batch, nn_net **out,
                            nn_le_buffer *b, char *msg, size_t msg_size)
{
    nn_format_msg(msg, msg_size, "%s", "");
    if (out)
        *out = NULL;
    if (!path || !out || max_batch <= 0) {
        nn_format_msg(msg, msg_size, "%s", !path ? "no path" : !out
                      ? "no output net" : "max_batch must be positive");
        return NN_EINVAL;
    }
    /* at most 2 GiB in the file; a gzip'd one inflates to at most 1 GiB,
     * as every decompressed stream (docs/RELIABILITY.md) */
    return nn_read_file(path, MODEL_MAX_BYTES, NN_DATA_MAX_BYTES, &b->data,
                        &b->size, msg, msg_size);
}

/* nn_model_load, for training or for inference only. */
static nn_status load(const char *path, int max_batch, int inference,
                      nn_net **out, char *msg, size_t msg_size)
{
    nn_le_buffer b = {NULL, 0, 0, 0};
    char why[256];
    nn_status st = nn_model_read_whole(path, max_batch, out, &b, msg, msg_size);
    if (st != NN_OK)
        return st;
    st = nn_model_decode(&b, max_batch, inference, out, why, sizeof why);
    if (st != NN_OK)
        nn_format_msg(msg, msg_size, "%s: %s", path, why);
    free(b.data);
    return st;
}

nn_status nn_model_load(const char *path, int max_batch, nn_net **out,
                        char *msg, size_t msg_size)
{
    return load(path, max_batch, 0, out, msg, msg_size);
}

nn_status nn_model_load_inference(const char *path, int max_batch,
                                  nn_net **out, char *msg, size_t msg_size)
{
    return load(path, max_batch, 1, out, msg, msg_size);
}

/* -------------------------------------------------- inference in a buffer */

/* Stack bytes nn_infer_size builds the net's layers in to plan it: about
 * 300 layers. */
#define INFER_WORK_BYTES ((size_t)128 << 10)

/* Checks the image and fills *m, refusing a gzip'd one; msg says why. */
static nn_status parse_image(const void *model, size_t model_size,
                             int max_batch, model_fields *m, char *msg,
                             size_t msg_size)
{
    nn_le_buffer b = {(unsigned char *)(uintptr_t)model, model_size, 0, 0};
    const unsigned char *bytes = model;
    memset(m, 0, sizeof *m);
    if (!model || max_batch <= 0) {
        nn_format_msg(msg, msg_size, "%s", !model ? "no model"
                      : "max_batch must be positive");
        return NN_EINVAL;
    }
    if (model_size >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        nn_format_msg(msg, msg_size, "a gzip'd model file: inflate it first "
                      "(nn_model_load reads it)");
        return NN_EFORMAT;
    }
    return parse_fields(&b, m, msg, msg_size);
}

/* Bytes of buffer before its first NN_ALIGN-aligned byte. */
static size_t misalignment(const void *buffer)
{
    return (NN_BUFFER_ALIGN - (uintptr_t)buffer % NN_BUFFER_ALIGN) %
           NN_BUFFER_ALIGN;
}

/* nn_infer_size of parsed fields; msg says why it fails. */
static nn_status infer_size(const model_fields *m, int max_batch,
                            size_t *bytes, char *msg, size_t msg_size)
{
    _Alignas(NN_BUFFER_ALIGN) unsigned char work[INFER_WORK_BYTES];
    nn_net *net = NULL;
    size_t arenas;
    nn_status st = describe_net(m, max_batch, work, sizeof work, &net, msg,
                                msg_size);
    if (st == NN_ENOMEM) {
        nn_format_msg(msg, msg_size, "more layers than nn_infer_size plans "
                      "in its %zu bytes of stack", sizeof work);
        return NN_EOVERFLOW;
    }
    if (st == NN_OK && (st = nn_net_infer_bytes(net, max_batch, &arenas)) != NN_OK)
        nn_format_msg(msg, msg_size, "the net does not fit batches of %d: %s",
                      max_batch, nn_status_str(st));
    if (st == NN_OK && arenas > SIZE_MAX - nn_net_buffer_used(net))
        st = NN_EOVERFLOW;
    if (st == NN_OK)
        *bytes = nn_net_buffer_used(net) + arenas;
    return st;
}

nn_status nn_infer_size(const void *model, size_t model_size, int max_batch,
                        size_t *bytes)
{
    model_fields m;
    nn_status st;
    if (!bytes)
        return NN_EINVAL;
    *bytes = 0;
    st = parse_image(model, model_size, max_batch, &m, NULL, 0);
    return st == NN_OK ? infer_size(&m, max_batch, bytes, NULL, 0) : st;
}

nn_status nn_model_load_into(const void *model, size_t model_size,
                             int max_batch, void *buffer, size_t buffer_size,
                             nn_net **out, char *msg, size_t msg_size)
{
    model_fields m;
    size_t need;
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!out || !buffer) {
        nn_format_msg(msg, msg_size, "%s", !out ? "no output net" : "no buffer");
        return NN_EINVAL;
    }
    *out = NULL;
    st = parse_image(model, model_size, max_batch, &m, msg, msg_size);
    if (st == NN_OK)
        st = build_net(&m, max_batch, 1, buffer, buffer_size, out, msg,
                       msg_size);
    if (st == NN_ENOMEM) {
        if (infer_size(&m, max_batch, &need, msg, msg_size) == NN_OK &&
            need <= SIZE_MAX - misalignment(buffer))
            nn_format_msg(msg, msg_size, "the buffer holds %zu bytes; this "
                          "model needs %zu", buffer_size,
                          need + misalignment(buffer));
        else
            nn_format_msg(msg, msg_size, "the buffer holds %zu bytes: too "
                          "small for this model", buffer_size);
    }
    return st;
}
