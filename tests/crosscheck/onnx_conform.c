/* onnx_conform: one of ONNX's conformance tests (a directory holding
 * model.onnx and test_data_set_N/input_K.pb, output_0.pb, as in Debian's
 * libonnx-testdata) run through libnn's importer. Prints one line:
 *   PASS name max_rel_err     every data set within 1e-4
 *   WRONG name max_rel_err    some output off (or of the wrong size)
 *   REFUSED name: why         nn_onnx_load refused the model (libnn's message)
 *   SKIP name: why            a test this driver cannot feed
 * max_rel_err is the largest |a - b| / max(1, |b|) over every output value
 * of every data set (a libnn's, b ONNX's). The graph inputs after the first
 * (weights given at run time: Conv's W, MatMul's B, Reshape's shape) become
 * initializers holding their input_K.pb, since a libnn net has one input.
 * When the model ends in a Softmax, which libnn's importer drops (its
 * softmax is in the loss), the reference is compared with the softmax of
 * libnn's logits over each sample's values; the line then ends in
 * "(softmax of libnn's logits)".
 *   onnx_conform TEST_DIR [TMP_DIR]
 * Exit status: 0 PASS, REFUSED or SKIP; 1 WRONG; 2 usage or I/O errors. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/protobuf.h"
#include "nn.h"

#define TOLERANCE 1e-4
#define MAX_INPUTS 8
#define MAX_SETS 16

/* A TensorProto as read from a .pb file: its bytes, shape and data type;
 * values when it is float. */
typedef struct {
    unsigned char *bytes;
    size_t size;
    int64_t dims[8];
    int rank, type;
    size_t count;
    float *x; /* (count) when type is FLOAT (1) */
} tensor;

/* The whole file at path into a new buffer; NULL when it cannot be read. */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)n + 1)) != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    if (data)
        *size = (size_t)n;
    fclose(f);
    return data;
}

static float le_float(const unsigned char *p)
{
    uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* A TensorProto file into t: dims (1), data_type (2), and for floats the
 * values from raw_data (9) or float_data (4, packed or not). 0 on failure. */
static int tensor_read(const char *path, tensor *t)
{
    nn_pb_reader r;
    nn_pb_field f;
    size_t k = 0, floats = 0, raw_size = 0;
    const unsigned char *raw = NULL;
    int status;
    memset(t, 0, sizeof *t);
    t->count = 1;
    if (!(t->bytes = read_file(path, &t->size)))
        return 0;
    r = (nn_pb_reader){t->bytes, t->bytes + t->size};
    while ((status = nn_pb_next(&r, &f)) == 1) {
        if (f.field == 1 && f.wire == NN_PB_VARINT && t->rank < 8) {
            t->dims[t->rank++] = (int64_t)f.value;
            t->count *= (size_t)f.value;
        } else if (f.field == 2 && f.wire == NN_PB_VARINT)
            t->type = (int)f.value;
        else if (f.field == 9 && f.wire == NN_PB_BYTES) {
            raw = f.data;
            raw_size = f.size;
        } else if (f.field == 4)
            floats += f.wire == NN_PB_BYTES ? f.size / 4 : 1;
    }
    if (status < 0 || t->type != 1)
        return status == 0;
    if ((raw ? raw_size / 4 : floats) != t->count || t->count > (1u << 28) ||
        !(t->x = malloc((t->count ? t->count : 1) * sizeof(float))))
        return 0;
    if (raw)
        for (k = 0; k < t->count; k++)
            t->x[k] = le_float(raw + 4 * k);
    else {
        r = (nn_pb_reader){t->bytes, t->bytes + t->size};
        while (nn_pb_next(&r, &f) == 1)
            if (f.field == 4 && f.wire == NN_PB_FIXED32)
                t->x[k++] = nn_pb_to_float(&f);
            else if (f.field == 4 && f.wire == NN_PB_BYTES)
                for (size_t i = 0; i + 4 <= f.size; i += 4)
                    t->x[k++] = le_float(f.data + i);
    }
    return 1;
}

static void tensor_free(tensor *t)
{
    free(t->bytes);
    free(t->x);
    memset(t, 0, sizeof *t);
}

/* What the driver needs from model.onnx: the names of the graph inputs
 * that are not initializers, in order, and the last node's operator. */
typedef struct {
    char inputs[MAX_INPUTS][128];
    int is_tensor[MAX_INPUTS]; /* 0: a sequence, map or optional */
    int n_inputs;     /* all of them, even past MAX_INPUTS */
    char last_op[32];
} model_info;

static void copy_string(char *dst, size_t size, const nn_pb_field *f)
{
    size_t n = f->size < size - 1 ? f->size : size - 1;
    memcpy(dst, f->data, n);
    dst[n] = '\0';
}

/* The field named by field 1 of message f (a name), into name. */
static void message_name(const nn_pb_field *msg, int field, char *name,
                          size_t size)
{
    nn_pb_reader r = nn_pb_sub(msg);
    nn_pb_field f;
    name[0] = '\0';
    while (nn_pb_next(&r, &f) == 1)
        if (f.field == field && f.wire == NN_PB_BYTES)
            copy_string(name, size, &f);
}

/* The graph field of the ModelProto in [data, data + size); 0 if none. */
static int model_graph(const unsigned char *data, size_t size, nn_pb_field *graph)
{
    nn_pb_reader r = {data, data + size};
    nn_pb_field f;
    int found = 0;
    while (nn_pb_next(&r, &f) == 1)
        if (f.field == 7 && f.wire == NN_PB_BYTES) {
            *graph = f;
            found = 1;
        }
    return found;
}

static int model_read_info(const nn_pb_field *graph, model_info *info)
{
    nn_pb_reader r = nn_pb_sub(graph);
    nn_pb_field f;
    char inits[64][128], name[128];
    int n_inits = 0;
    memset(info, 0, sizeof *info);
    while (nn_pb_next(&r, &f) == 1) /* initializers (5) */
        if (f.field == 5 && f.wire == NN_PB_BYTES && n_inits < 64)
            message_name(&f, 8, inits[n_inits++], sizeof inits[0]);
    r = nn_pb_sub(graph);
    while (nn_pb_next(&r, &f) == 1) {
        int is_init = 0;
        if (f.field == 1 && f.wire == NN_PB_BYTES) /* a node: op_type (4) */
            message_name(&f, 4, info->last_op, sizeof info->last_op);
        if (f.field != 11 || f.wire != NN_PB_BYTES) /* graph inputs */
            continue;
        message_name(&f, 1, name, sizeof name);
        for (int i = 0; i < n_inits; i++)
            is_init |= !strcmp(inits[i], name);
        if (is_init)
            continue;
        if (info->n_inputs < MAX_INPUTS) {
            nn_pb_reader v = nn_pb_sub(&f), t;
            nn_pb_field vf, tf;
            strcpy(info->inputs[info->n_inputs], name);
            while (nn_pb_next(&v, &vf) == 1) /* ValueInfoProto.type (2) */
                if (vf.field == 2 && vf.wire == NN_PB_BYTES)
                    for (t = nn_pb_sub(&vf); nn_pb_next(&t, &tf) == 1;)
                        info->is_tensor[info->n_inputs] |= tf.field == 1; /* tensor_type */
        }
        info->n_inputs++;
    }
    return 1;
}

/* A growing byte buffer; `failed` once memory ran out. */
typedef struct {
    unsigned char *data;
    size_t size, capacity;
    int failed;
} buffer;

static void put(buffer *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->size + n > b->capacity) {
        size_t cap = 2 * (b->size + n);
        unsigned char *grown = realloc(b->data, cap);
        if (!grown) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->capacity = cap;
    }
    if (n)
        memcpy(b->data + b->size, p, n);
    b->size += n;
}

static void put_varint(buffer *b, uint64_t v)
{
    unsigned char byte;
    do {
        byte = (unsigned char)(v & 0x7f);
        v >>= 7;
        put(b, &(unsigned char){(unsigned char)(byte | (v ? 0x80 : 0))}, 1);
    } while (v);
}

/* A length-delimited field: tag, length, then the bytes of parts. */
static void put_field(buffer *b, int field, const void *p1, size_t n1,
                      const void *p2, size_t n2)
{
    put_varint(b, (uint64_t)field << 3 | NN_PB_BYTES);
    put_varint(b, n1 + n2);
    put(b, p1, n1);
    put(b, p2, n2);
}

/* model.onnx with inputs 1..n-1 turned into initializers holding the given
 * tensors, written to path: the ModelProto's other fields as they are, then
 * the graph's fields as they are followed by one initializer (5) per input,
 * the input_K.pb message with its name (8) appended (the last occurrence of
 * a field wins). 0 on failure. */
static int write_with_initializers(const unsigned char *data, size_t size,
                                   const model_info *info, const tensor *in,
                                   int n, const char *path)
{
    nn_pb_reader r = {data, data + size};
    nn_pb_field f, graph;
    buffer g = {0}, w = {0};
    FILE *out;
    int ok = 0;
    if (!model_graph(data, size, &graph))
        return 0;
    put(&g, graph.data, graph.size);
    for (int k = 1; k < n; k++) {
        buffer name = {0};
        put_field(&name, 8, info->inputs[k], strlen(info->inputs[k]), NULL, 0);
        put_field(&g, 5, in[k].bytes, in[k].size, name.data, name.size);
        g.failed |= name.failed;
        free(name.data);
    }
    for (const unsigned char *start = r.p; nn_pb_next(&r, &f) == 1; start = r.p)
        if (!(f.field == 7 && f.wire == NN_PB_BYTES))
            put(&w, start, (size_t)(r.p - start));
    put_field(&w, 7, g.data, g.size, NULL, 0);
    if (!g.failed && !w.failed && (out = fopen(path, "wb")) != NULL) {
        ok = fwrite(w.data, 1, w.size, out) == w.size;
        ok &= fclose(out) == 0;
    }
    free(g.data);
    free(w.data);
    return ok;
}

/* The largest |a - b| / max(1, |b|) over n values (infinite when exactly
 * one of a pair is NaN or they differ by infinities). */
static double max_rel_err(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d, e;
        if (isnan(a[i]) || isnan(b[i])) {
            if (!(isnan(a[i]) && isnan(b[i])))
                worst = INFINITY;
            continue;
        }
        if (a[i] == b[i])
            continue;
        d = fabs((double)a[i] - (double)b[i]);
        e = d / fmax(1.0, fabs((double)b[i]));
        if (!(e <= worst))
            worst = e;
    }
    return worst;
}

/* Softmax over each of n rows of k values, in place. */
static void softmax_rows(float *x, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * k, top = row[0];
        double sum = 0.0;
        for (size_t j = 1; j < k; j++)
            top = row[j] > top ? row[j] : top;
        for (size_t j = 0; j < k; j++)
            sum += exp((double)row[j] - top);
        for (size_t j = 0; j < k; j++)
            row[j] = (float)(exp((double)row[j] - top) / sum);
    }
}

/* The outcome of one data set. */
enum { RUN_PASS, RUN_WRONG, RUN_REFUSED, RUN_SKIP, RUN_ERROR };

/* Runs data set `set` of the test in dir: 1 line's worth of `why` on
 * anything but a comparison, *err the max relative error otherwise. */
static int run_set(const char *dir, const char *set, const unsigned char *model,
                   size_t model_size, const model_info *info, const char *tmp,
                   double *err, char *why, size_t why_size)
{
    char path[4096], msg[512];
    tensor in[MAX_INPUTS] = {{0}}, expected = {0};
    nn_net *net = NULL;
    nn_tensor *x, *y;
    int n = info->n_inputs, result = RUN_ERROR, batch = 1, wrote = 0;
    size_t per_out;
    for (int k = 0; k < n; k++) {
        if (!info->is_tensor[k]) {
            snprintf(why, why_size, "input %d '%s' is not a tensor (a sequence "
                     "or an optional)", k, info->inputs[k]);
            result = RUN_SKIP;
            goto done;
        }
        snprintf(path, sizeof path, "%s/%s/input_%d.pb", dir, set, k);
        if (!tensor_read(path, &in[k])) {
            snprintf(why, why_size, "cannot read %.500s", path);
            goto done;
        }
        if (k == 0 ? in[k].type != 1 : in[k].type != 1 && in[k].type != 7) {
            snprintf(why, why_size, "input %d '%s' has data type %d: the driver "
                     "feeds float (1) inputs, and float or int64 (7) weights",
                     k, info->inputs[k], in[k].type);
            result = RUN_SKIP;
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/%s/output_0.pb", dir, set);
    if (!tensor_read(path, &expected)) {
        snprintf(why, why_size, "cannot read %.500s", path);
        goto done;
    }
    if (expected.type != 1) {
        snprintf(why, why_size, "output 0 has data type %d, not float", expected.type);
        result = RUN_SKIP;
        goto done;
    }
    if (n > 1) {
        snprintf(path, sizeof path, "%s/onnx_conform_%ld.onnx", tmp, (long)getpid());
        if (!write_with_initializers(model, model_size, info, in, n, path)) {
            snprintf(why, why_size, "cannot write %.500s", path);
            goto done;
        }
        wrote = 1;
    } else
        snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (in[0].rank >= 2 && in[0].dims[0] > 0 && in[0].dims[0] < 4096)
        batch = (int)in[0].dims[0];
    if (nn_onnx_load(path, batch, 1, &net, msg, sizeof msg) != NN_OK) {
        size_t skip = strlen(path); /* "path: why" -> "why" */
        const char *text = !strncmp(msg, path, skip) && msg[skip] == ':' ? msg + skip + 2 : msg;
        snprintf(why, why_size, "%s", text);
        result = RUN_REFUSED;
        goto done;
    }
    x = nn_net_input(net);
    if ((size_t)batch * x->c * x->h * x->w != in[0].count) {
        snprintf(why, why_size, "input 0 holds %zu values, the imported net "
                 "takes %d x %dx%dx%d", in[0].count, batch, x->c, x->h, x->w);
        result = RUN_WRONG;
        goto done;
    }
    memcpy(x->x, in[0].x, in[0].count * sizeof(float));
    if (nn_net_forward(net, batch) != NN_OK) {
        snprintf(why, why_size, "nn_net_forward failed");
        result = RUN_WRONG;
        goto done;
    }
    y = nn_net_output(net);
    per_out = (size_t)y->c * y->h * y->w;
    if ((size_t)batch * per_out != expected.count) {
        snprintf(why, why_size, "libnn gives %d x %dx%dx%d values, ONNX %zu",
                 batch, y->c, y->h, y->w, expected.count);
        result = RUN_WRONG;
        goto done;
    }
    if (!strcmp(info->last_op, "Softmax"))
        softmax_rows(y->x, (size_t)batch, per_out);
    *err = max_rel_err(y->x, expected.x, expected.count);
    result = *err <= TOLERANCE ? RUN_PASS : RUN_WRONG;
done:
    if (wrote)
        remove(path);
    for (int k = 0; k < n && k < MAX_INPUTS; k++)
        tensor_free(&in[k]);
    tensor_free(&expected);
    nn_net_destroy(net);
    return result;
}

int main(int argc, char **argv)
{
    static const char *const label[] = {"PASS", "WRONG", "REFUSED", "SKIP"};
    char path[4096], set[64], why[640] = "";
    const char *dir, *name, *tmp;
    unsigned char *model;
    size_t model_size = 0;
    nn_pb_field graph;
    model_info info;
    double worst = 0.0;
    int result = RUN_PASS, sets = 0;
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: onnx_conform TEST_DIR [TMP_DIR]\n");
        return 2;
    }
    dir = argv[1];
    tmp = argc == 3 ? argv[2] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    name = strrchr(dir, '/') && strrchr(dir, '/')[1] ? strrchr(dir, '/') + 1 : dir;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (!(model = read_file(path, &model_size)) ||
        !model_graph(model, model_size, &graph)) {
        fprintf(stderr, "onnx_conform: cannot read a model from %s\n", path);
        free(model);
        return 2;
    }
    model_read_info(&graph, &info);
    if (info.n_inputs < 1 || info.n_inputs > MAX_INPUTS) {
        printf("SKIP %s: %d graph inputs\n", name, info.n_inputs);
        free(model);
        return 0;
    }
    for (int s = 0; s < MAX_SETS && result == RUN_PASS; s++) {
        double err = 0.0;
        snprintf(set, sizeof set, "test_data_set_%d", s);
        snprintf(path, sizeof path, "%s/%s", dir, set);
        if (access(path, R_OK) != 0)
            break;
        sets++;
        result = run_set(dir, set, model, model_size, &info, tmp, &err, why, sizeof why);
        if (result == RUN_PASS || (result == RUN_WRONG && !why[0]))
            worst = err > worst || isnan(err) ? err : worst;
    }
    free(model);
    if (result == RUN_ERROR || sets == 0) {
        fprintf(stderr, "onnx_conform: %s: %s\n", name, sets ? why : "no test_data_set_0");
        return 2;
    }
    if (why[0])
        printf("%s %s: %s\n", label[result], name, why);
    else
        printf("%s %s %.3g%s\n", label[result], name, worst,
               strcmp(info.last_op, "Softmax") ? "" : " (softmax of libnn's logits)");
    return result == RUN_WRONG;
}
