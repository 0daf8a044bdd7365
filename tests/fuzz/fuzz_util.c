/* Helpers shared by the libFuzzer targets (see fuzz_util.h). */
#define _GNU_SOURCE /* memfd_create */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOTS = 4, STORED_MAX = 65535 };

void fuzz_split(const uint8_t *data, size_t size, fuzz_parts *out)
{
    size_t len;
    memset(out, 0, sizeof *out);
    if (size < 3) {
        out->part[0] = out->part[1] = data;
        return;
    }
    out->mode = data[0];
    len = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (len > size)
        len = size;
    out->part[0] = data;
    out->size[0] = len;
    out->part[1] = data + len;
    out->size[1] = size - len;
}

/* Bitwise CRC-32 (reflected 0xEDB88320), the harness's own. */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* Appends the low `bytes` bytes of v, lowest first. */
static uint8_t *put_le(uint8_t *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* A new gzip member holding data in stored blocks; *out_size its length. */
static uint8_t *gzip_stored(const uint8_t *data, size_t size,
                            size_t *out_size)
{
    static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    size_t blocks = size / STORED_MAX + 1;
    uint8_t *gz = malloc(sizeof header + size + 5 * blocks + 8), *p;
    if (!gz)
        return NULL;
    memcpy(gz, header, sizeof header);
    p = gz + sizeof header;
    for (size_t done = 0, b = 0; b < blocks; b++) {
        size_t n = size - done < STORED_MAX ? size - done : STORED_MAX;
        *p++ = b + 1 == blocks; /* BFINAL, BTYPE 00 */
        p = put_le(p, (uint32_t)n, 2);
        p = put_le(p, (uint32_t)~n & 0xffffu, 2);
        if (n > 0)
            memcpy(p, data + done, n);
        p += n;
        done += n;
    }
    p = put_le(p, crc32_of(data, size), 4);
    p = put_le(p, (uint32_t)size, 4);
    *out_size = (size_t)(p - gz);
    return gz;
}

/* Writes all of data at offset 0 of fd and cuts the file there. */
static int rewrite(int fd, const uint8_t *data, size_t size)
{
    size_t done = 0;
    if (ftruncate(fd, 0) != 0)
        return -1;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

const char *fuzz_file(int slot, const uint8_t *data, size_t size, int gzip)
{
    static int fds[SLOTS] = {-1, -1, -1, -1};
    static char paths[SLOTS][32];
    uint8_t *gz = NULL;
    int failed;
    if (slot < 0 || slot >= SLOTS)
        return NULL;
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("nn_fuzz", 0);
        if (fds[slot] < 0)
            return NULL;
        snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d",
                 fds[slot]);
    }
    if (gzip) {
        if (!(gz = gzip_stored(data, size, &size)))
            return NULL;
        data = gz;
    }
    failed = rewrite(fds[slot], data, size);
    free(gz);
    return failed ? NULL : paths[slot];
}

static char temp_dir[64];

/* Removes the files the library left in temp_dir, then temp_dir. */
static void remove_temp_dir(void)
{
    DIR *dir = opendir(temp_dir);
    struct dirent *e;
    char path[sizeof temp_dir + 256];
    while (dir && (e = readdir(dir)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", temp_dir, e->d_name);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove(path);
    }
    if (dir)
        closedir(dir);
    rmdir(temp_dir);
}

const char *fuzz_temp_dir(void)
{
    if (temp_dir[0] == '\0') {
        strcpy(temp_dir, "/tmp/nn_fuzz.XXXXXX");
        if (!mkdtemp(temp_dir)) {
            temp_dir[0] = '\0';
            return NULL;
        }
        atexit(remove_temp_dir);
    }
    return temp_dir;
}

/* Reads the decimal number at *p (advancing it); -1 when there is none. */
static double number(const char **p)
{
    double v = 0;
    if (**p < '0' || **p > '9')
        return -1;
    while (**p >= '0' && **p <= '9')
        v = v * 10 + (*(*p)++ - '0');
    return v;
}

/* Reads "<c>N" when the spec continues with c; def otherwise. */
static double option(const char **p, char c, double def)
{
    if (**p != c)
        return def;
    (*p)++;
    return number(p);
}

/* The running totals of fuzz_spec_cost, in floats. */
typedef struct {
    double c, h, w;                  /* current shape */
    double params, max_params, other; /* other: state, caches, activations */
    double scratch, macs;
} cost;

/* Counts a layer's n trainable parameters. */
static void add_params(cost *k, double n)
{
    k->params += n;
    if (n > k->max_params)
        k->max_params = n;
}

/* convKHxKWxN[sS][pP] after "conv"; 0 when it does not fit the shape. */
static int conv_cost(cost *k, const char **p)
{
    double kh, kw, n, stride, pad, out_h, out_w, in;
    kh = number(p), (*p)++, kw = number(p), (*p)++, n = number(p);
    stride = option(p, 's', 1);
    pad = option(p, 'p', 0);
    if (stride <= 0 || kh > k->h + 2 * pad || kw > k->w + 2 * pad)
        return 0;
    out_h = (double)(long long)((k->h + 2 * pad - kh) / stride) + 1;
    out_w = (double)(long long)((k->w + 2 * pad - kw) / stride) + 1;
    in = k->c * kh * kw; /* one output's receptive field */
    add_params(k, n * (in + 1));
    if (in * out_h * out_w > k->scratch)
        k->scratch = in * out_h * out_w; /* im2col columns */
    k->macs += n * in * out_h * out_w;
    k->c = n, k->h = out_h, k->w = out_w;
    return 1;
}

/* denseN after "dense". */
static void dense_cost(cost *k, const char **p)
{
    double n = number(p), in = k->c * k->h * k->w;
    add_params(k, n * (in + 1));
    k->macs += n * in;
    k->c = n, k->h = k->w = 1;
}

/* Outputs along a side of `in` for a window k, stride and padding: the
 * floor of (in + 2 pad - k) / stride, + 1; in ceil mode the ceiling, less
 * one when the last window would start in the padding (PyTorch's rule). */
static double pool_side(double in, double k, double stride, double pad,
                        int ceil_mode)
{
    double span = in + 2 * pad - k;
    double out = (double)(long long)(span / stride) + 1;
    if (ceil_mode && out - 1 < span / stride) {
        out += 1;
        if ((out - 1) * stride >= in + pad)
            out -= 1;
    }
    return out;
}

/* KH[xKW][sS][pP][c][e] after "pool" (max 1: its argmax cache counted) or
 * "avgpool"; 0 when the window does not fit the shape or the padding is
 * not below it. */
static int pool_cost(cost *k, const char **p, int max)
{
    double kh = number(p), kw = kh, stride, pad;
    int ceil_mode;
    if (**p == 'x')
        (*p)++, kw = number(p);
    stride = option(p, 's', kh);
    pad = option(p, 'p', 0);
    ceil_mode = **p == 'c';
    if (stride <= 0 || pad >= kh || pad >= kw || kh > k->h + 2 * pad ||
        kw > k->w + 2 * pad)
        return 0;
    k->h = pool_side(k->h, kh, stride, pad, ceil_mode);
    k->w = pool_side(k->w, kw, stride, pad, ceil_mode);
    if (max)
        k->other += k->c * k->h * k->w; /* argmax cache */
    return 1;
}

/* The outputs of a graph spec as far as it is read: each one's shape and
 * name, and whether a later layer reads it (index 0: the net's input). */
#define GRAPH_MAX 4097
typedef struct {
    double shape[GRAPH_MAX][3];
    char name[GRAPH_MAX][16];
    char read[GRAPH_MAX];
    int count; /* outputs so far, the input included */
} graph;

/* The output a canonical reference names ("input", a name, "lN"), or -1. */
static int find_ref(const graph *g, const char *ref, size_t len)
{
    char text[16];
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, ref, len);
    text[len] = '\0';
    if (!strcmp(text, "input"))
        return 0;
    for (int t = 1; t < g->count; t++)
        if (!strcmp(g->name[t], text))
            return t;
    if (text[0] == 'l' && text[1] >= '0' && text[1] <= '9') {
        int n = atoi(text + 1);
        if (n + 1 < g->count)
            return n + 1;
    }
    return -1;
}

/* Sets k's shape to what the token [s, end) reads: its inputs in
 * parentheses (a join given one also reads the previous output), else
 * the previous output; an add's inputs must agree, a concat's heights
 * and widths (channels added). 0 when they do not. */
static int read_inputs(cost *k, graph *g, const char *s, const char *end)
{
    const char *open = memchr(s, '(', (size_t)(end - s));
    int join = !strncmp(s, "add", 3) || !strncmp(s, "concat", 6);
    int reads[8], count = 0;
    if (!open) {
        reads[count++] = g->count - 1;
    } else {
        const char *close = memchr(open, ')', (size_t)(end - open));
        const char *p = open + 1;
        if (!close)
            return 0;
        if (join && !memchr(p, ',', (size_t)(close - p)))
            reads[count++] = g->count - 1;
        while (p < close && count < 8) {
            const char *comma = memchr(p, ',', (size_t)(close - p));
            const char *stop = comma ? comma : close;
            int t = find_ref(g, p, (size_t)(stop - p));
            if (t < 0)
                return 0;
            reads[count++] = t;
            p = stop + 1;
        }
    }
    for (int i = 0; i < count; i++)
        g->read[reads[i]] = 1;
    k->c = g->shape[reads[0]][0];
    k->h = g->shape[reads[0]][1];
    k->w = g->shape[reads[0]][2];
    for (int i = 1; i < count; i++) {
        const double *o = g->shape[reads[i]];
        if (o[1] != k->h || o[2] != k->w ||
            (s[0] == 'a' && o[0] != k->c))
            return 0;
        if (s[0] == 'c')
            k->c += o[0]; /* concat */
    }
    return 1;
}

/* The end of the token at s: its comma outside parentheses, or its NUL. */
static const char *token_end(const char *s)
{
    int depth = 0;
    for (; *s && !(*s == ',' && depth == 0); s++)
        depth += (*s == '(') - (*s == ')');
    return s;
}

/* Applies the canonical token at *p and moves past its comma; 0 when it
 * does not fit the shape. */
static int apply(cost *k, graph *g, const char **p)
{
    const char *s = *p, *end = token_end(s), *at;
    if (g->count >= GRAPH_MAX || !read_inputs(k, g, s, end))
        return 0;
    if (strncmp(s, "conv", 4) == 0) {
        s += 4;
        if (!conv_cost(k, &s))
            return 0;
    } else if (strncmp(s, "dense", 5) == 0) {
        s += 5;
        dense_cost(k, &s);
    } else if (strncmp(s, "pool", 4) == 0) {
        s += 4;
        if (!pool_cost(k, &s, 1))
            return 0;
    } else if (strncmp(s, "avgpool", 7) == 0) {
        s += 7;
        if (!pool_cost(k, &s, 0))
            return 0;
    } else if (strncmp(s, "gap", 3) == 0) {
        k->h = k->w = 1;
    } else if (strncmp(s, "dropout", 7) == 0) {
        k->other += k->c * k->h * k->w / 4; /* the mask, a byte a value */
    } else if (strncmp(s, "bn", 2) == 0) {
        add_params(k, 2 * k->c);
        k->other += 3 * k->c + k->c * k->h * k->w; /* statistics, cache */
    }
    at = memchr(*p, '@', (size_t)(end - *p));
    g->name[g->count][0] = '\0';
    if (at && (size_t)(end - at - 1) < sizeof g->name[0]) {
        memcpy(g->name[g->count], at + 1, (size_t)(end - at - 1));
        g->name[g->count][end - at - 1] = '\0';
    }
    g->shape[g->count][0] = k->c;
    g->shape[g->count][1] = k->h;
    g->shape[g->count][2] = k->w;
    g->read[g->count++] = 0;
    *p = *end ? end + 1 : NULL;
    k->other += 2 * k->c * k->h * k->w; /* the output and its gradient */
    return 1;
}

int fuzz_spec_cost(const char *spec, int c, int h, int w, fuzz_cost *out)
{
    static graph g; /* 200 kB: not on the stack */
    cost k = {c, h, w, 0, 0, 2.0 * c * h * w, 0, 0};
    const char *p = spec;
    g.count = 1;
    g.shape[0][0] = c, g.shape[0][1] = h, g.shape[0][2] = w;
    g.read[0] = 0;
    while (p && *p)
        if (!apply(&k, &g, &p))
            return 0;
    for (int t = 1; t + 1 < g.count; t++)
        if (!g.read[t])
            return 0; /* an output nothing reads: refused */
    /* params, grads, two optimizer moments, NN_PIECES (8) partial sums,
     * probabilities as large as the output */
    out->floats = 4 * k.params + 8 * k.max_params + k.other + k.scratch +
                  k.c * k.h * k.w;
    out->macs = k.macs;
    out->params = k.params;
    return 1;
}

int fuzz_affordable(const fuzz_cost *cost)
{
    return cost->floats <= FUZZ_MAX_FLOATS && cost->macs <= FUZZ_MAX_MACS;
}

char *fuzz_spec_of(const nn_net *net)
{
    char *spec = malloc(FUZZ_SPEC_MAX);
    if (spec && nn_net_spec(net, spec, FUZZ_SPEC_MAX) != NN_OK) {
        free(spec);
        spec = NULL;
    }
    return spec;
}

int fuzz_net_affordable(const nn_net *net)
{
    char *spec = fuzz_spec_of(net);
    fuzz_cost cost;
    int c, h, w, ok;
    FUZZ_CHECK(spec != NULL);
    nn_net_input_shape(net, &c, &h, &w);
    ok = !fuzz_spec_cost(spec, c, h, w, &cost) || /* refused early */
         fuzz_affordable(&cost);
    free(spec);
    return ok;
}

int fuzz_same_net(nn_net *a, nn_net *b)
{
    char *spec_a = fuzz_spec_of(a), *spec_b = fuzz_spec_of(b);
    size_t n = nn_net_param_count(a), s = nn_net_state_count(a);
    int same = spec_a && spec_b && strcmp(spec_a, spec_b) == 0 &&
               n == nn_net_param_count(b) && s == nn_net_state_count(b) &&
               memcmp(nn_net_params(a), nn_net_params(b), n * sizeof(float)) == 0 &&
               memcmp(nn_net_state(a), nn_net_state(b), s * sizeof(float)) == 0;
    free(spec_a);
    free(spec_b);
    return same;
}
