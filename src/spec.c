/* Architecture specs: "conv5x5x16p2,relu,pool2,dense10" to layers, and the
 * named presets. Every token is checked before the first layer is added, so
 * a bad spec leaves the net as it was. Grammar: docs/FORMAT.md. */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Bounds on the numbers of a spec (the layers check their shapes later). */
#define SPEC_MAX_SIDE 1024        /* kernel side, pool window, stride, padding */
#define SPEC_MAX_FILTERS 65536    /* conv output channels */
#define SPEC_MAX_DENSE (1 << 24)  /* dense outputs, as nn_dense_create */
#define SPEC_MAX_LAYERS 4096      /* as the net's layer table */
#define SPEC_MSG_TOKEN 40         /* longest token quoted in a message */

static const struct {
    const char *name, *spec;
} presets[] = {
    {"mlp", "dense100,relu,dense10"},
    {"lenet", "conv5x5x16p2,relu,pool2,conv5x5x16p2,relu,pool2,dense10"},
    {"deep", "conv3x3x64,relu,conv3x3x64,relu,pool2,conv3x3x128,relu,"
             "conv3x3x128,relu,pool2,dense256,relu,dense10"},
    {"deep-bn", "conv3x3x64,bn,relu,conv3x3x64,bn,relu,pool2,conv3x3x128,bn,"
                "relu,conv3x3x128,bn,relu,pool2,dense256,bn,relu,dense10"},
    {"vgg", "conv3x3x32p1,bn,relu,conv3x3x32p1,bn,relu,pool2,"
            "conv3x3x64p1,bn,relu,conv3x3x64p1,bn,relu,pool2,"
            "conv3x3x128p1,bn,relu,conv3x3x128p1,bn,relu,pool2,"
            "dense128,bn,relu,dense10"},
};

typedef enum {
    SPEC_CONV, SPEC_DENSE, SPEC_POOL, SPEC_RELU, SPEC_SIGMOID, SPEC_TANH,
    SPEC_BN
} spec_kind;

/* One parsed token: the layer and its numbers (unused ones stay 0). */
typedef struct {
    spec_kind kind;
    int out;         /* conv filters or dense outputs */
    int kh, kw;      /* conv kernel, or pool window in kh */
    int stride, pad;
} spec_layer;

/* A token [start, end) being parsed at p, with the grammar it must follow
 * and room to explain why it does not. */
typedef struct {
    const char *start, *p, *end;
    const char *grammar;
    char why[96];
} cursor;

/* The preset called name[0..len), or NULL. */
static const char *find_preset(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        if (strlen(presets[i].name) == len &&
            memcmp(presets[i].name, name, len) == 0)
            return presets[i].spec;
    return NULL;
}

const char *nn_spec_preset(const char *name)
{
    return name ? find_preset(name, strlen(name)) : NULL;
}

/* 1 when the rest of the token is exactly text. */
static int rest_is(const cursor *c, const char *text)
{
    size_t len = strlen(text);
    return (size_t)(c->end - c->p) == len && memcmp(c->p, text, len) == 0;
}

/* Consumes text when the token continues with it. */
static int accept(cursor *c, const char *text)
{
    size_t len = strlen(text);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, text, len) != 0)
        return 0;
    c->p += len;
    return 1;
}

/* Explains that the token does not follow its grammar; returns 0. */
static int syntax_error(cursor *c)
{
    if (c->p == c->end)
        snprintf(c->why, sizeof c->why, "expected %s", c->grammar);
    else
        snprintf(c->why, sizeof c->why, "expected %s, found '%c' at %d",
                 c->grammar, *c->p, (int)(c->p - c->start) + 1);
    return 0;
}

/* Reads a decimal number in [min, max] into *out; 0 with an explanation
 * when there is none or it is out of range. */
static int number(cursor *c, const char *what, int min, int max, int *out)
{
    const char *start = c->p;
    long value = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (value <= max)
            value = value * 10 + (*c->p - '0');
        c->p++;
    }
    if (c->p == start)
        return syntax_error(c);
    if (value < min || value > max) {
        int digits = (int)(c->p - start);
        snprintf(c->why, sizeof c->why, "%s %.*s%s is out of range %d..%d",
                 what, digits > 12 ? 12 : digits, start,
                 digits > 12 ? "..." : "", min, max);
        return 0;
    }
    *out = (int)value;
    return 1;
}

/* Consumes the character ch, or explains that it is missing. */
static int expect(cursor *c, char ch)
{
    char text[2] = {ch, '\0'};
    return accept(c, text) || syntax_error(c);
}

/* convKHxKWxN[sS][pP], after "conv". */
static int parse_conv(cursor *c, spec_layer *l)
{
    c->grammar = "convKxKxN[sS][pP]";
    l->kind = SPEC_CONV;
    l->stride = 1;
    if (!number(c, "kernel height", 1, SPEC_MAX_SIDE, &l->kh) ||
        !expect(c, 'x') ||
        !number(c, "kernel width", 1, SPEC_MAX_SIDE, &l->kw) ||
        !expect(c, 'x') ||
        !number(c, "filter count", 1, SPEC_MAX_FILTERS, &l->out))
        return 0;
    if (accept(c, "s") && !number(c, "stride", 1, SPEC_MAX_SIDE, &l->stride))
        return 0;
    if (accept(c, "p") && !number(c, "padding", 0, SPEC_MAX_SIDE, &l->pad))
        return 0;
    return 1;
}

/* poolK[sS], after "pool"; the stride defaults to the window. */
static int parse_pool(cursor *c, spec_layer *l)
{
    c->grammar = "poolK[sS]";
    l->kind = SPEC_POOL;
    if (!number(c, "pool window", 1, SPEC_MAX_SIDE, &l->kh))
        return 0;
    l->stride = l->kh;
    return !accept(c, "s") ||
           number(c, "stride", 1, SPEC_MAX_SIDE, &l->stride);
}

/* Parses one trimmed token into *l; 0 with c->why set when it is wrong. */
static int parse_token(cursor *c, spec_layer *l)
{
    static const struct {
        const char *word;
        spec_kind kind;
    } words[] = {{"relu", SPEC_RELU}, {"sigmoid", SPEC_SIGMOID},
                 {"tanh", SPEC_TANH}, {"bn", SPEC_BN}};
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (rest_is(c, words[i].word)) {
            l->kind = words[i].kind;
            return 1;
        }
    if (c->p == c->end) {
        snprintf(c->why, sizeof c->why, "empty layer");
        return 0;
    }
    if (accept(c, "conv")) {
        if (!parse_conv(c, l))
            return 0;
    } else if (accept(c, "pool")) {
        if (!parse_pool(c, l))
            return 0;
    } else if (accept(c, "dense")) {
        c->grammar = "denseN";
        l->kind = SPEC_DENSE;
        if (!number(c, "output count", 1, SPEC_MAX_DENSE, &l->out))
            return 0;
    } else {
        snprintf(c->why, sizeof c->why, "unknown layer (expected conv, dense, "
                 "pool, relu, sigmoid, tanh or bn)");
        return 0;
    }
    return c->p == c->end || syntax_error(c);
}

/* Appends one parsed layer through the public constructors. */
static nn_status add_layer(nn_net *net, const spec_layer *l)
{
    switch (l->kind) {
    case SPEC_CONV:
        return nn_net_add_conv2d(net, l->out, l->kh, l->kw, l->stride, l->pad);
    case SPEC_DENSE: return nn_net_add_dense(net, l->out);
    case SPEC_POOL: return nn_net_add_maxpool(net, l->kh, l->stride);
    case SPEC_RELU: return nn_net_add_relu(net);
    case SPEC_SIGMOID: return nn_net_add_sigmoid(net);
    case SPEC_TANH: return nn_net_add_tanh(net);
    case SPEC_BN: return nn_net_add_batchnorm(net);
    }
    return NN_EINVAL;
}

/* Narrows [*start, *end) to its non-blank part. */
static void trim(const char **start, const char **end)
{
    while (*start < *end && isspace((unsigned char)**start))
        (*start)++;
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

/* "spec token 3 'conv3x3': why", quoting at most SPEC_MSG_TOKEN chars. */
static void token_msg(char *msg, size_t msg_size, int index,
                      const char *start, const char *end, const char *why)
{
    size_t len = (size_t)(end - start);
    nn_format_msg(msg, msg_size, "spec token %d '%.*s%s': %s", index,
                  (int)(len > SPEC_MSG_TOKEN ? SPEC_MSG_TOKEN : len), start,
                  len > SPEC_MSG_TOKEN ? "..." : "", why);
}

/* Parses every token of spec; with net NULL only checks them, otherwise
 * also appends each layer. */
static nn_status walk(nn_net *net, const char *spec, char *msg,
                      size_t msg_size)
{
    const char *p = spec;
    for (int index = 1;; index++) {
        const char *comma = strchr(p, ',');
        const char *start = p, *end = comma ? comma : p + strlen(p);
        cursor c;
        spec_layer layer;
        nn_status st;
        if (index > SPEC_MAX_LAYERS) {
            nn_format_msg(msg, msg_size, "spec has more than %d layers",
                          SPEC_MAX_LAYERS);
            return NN_EOVERFLOW;
        }
        trim(&start, &end);
        c.start = c.p = start;
        c.end = end;
        c.grammar = "";
        if (!parse_token(&c, &layer)) {
            token_msg(msg, msg_size, index, start, end, c.why);
            return NN_EINVAL;
        }
        if (net && (st = add_layer(net, &layer)) != NN_OK) {
            token_msg(msg, msg_size, index, start, end, nn_status_str(st));
            return st;
        }
        if (!comma)
            return NN_OK;
        p = comma + 1;
    }
}

nn_status nn_net_add_spec(nn_net *net, const char *spec, char *msg,
                          size_t msg_size)
{
    const char *start = spec, *end, *preset;
    nn_status st;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net || !spec) {
        nn_format_msg(msg, msg_size, "%s", net ? "no spec" : "no net");
        return NN_EINVAL;
    }
    end = spec + strlen(spec);
    trim(&start, &end);
    preset = find_preset(start, (size_t)(end - start));
    if (preset)
        spec = preset;
    st = walk(NULL, spec, msg, msg_size);
    return st == NN_OK ? walk(net, spec, msg, msg_size) : st;
}
