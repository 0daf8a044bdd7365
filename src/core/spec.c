/* Architecture specs: "conv5x5x16p2,relu,pool2,dense10" to layers, and the
 * named presets. Each token starts with a layer kind's token (the table of
 * src/layers/layers.c), whose own parse function reads the rest. Every token
 * is checked before the first layer is added, so a bad spec leaves the net
 * as it was. Grammar: docs/FORMAT.md. */
#include "core/spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "layers/layer.h"

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
    /* vgg's convolutions, then a mean per channel instead of the 2048-wide
     * flattening (a 16x smaller dense layer), and dropout before it */
    {"vgg-gap", "conv3x3x32p1,bn,relu,conv3x3x32p1,bn,relu,pool2,"
                "conv3x3x64p1,bn,relu,conv3x3x64p1,bn,relu,pool2,"
                "conv3x3x128p1,bn,relu,conv3x3x128p1,bn,relu,"
                "gap,dropout0.3,dense10"},
};

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

int nn_spec_accept(nn_spec_cursor *c, const char *text)
{
    size_t len = strlen(text);
    if ((size_t)(c->end - c->p) < len || memcmp(c->p, text, len) != 0)
        return 0;
    c->p += len;
    return 1;
}

/* Explains that the token does not follow its grammar; returns 0. */
static int syntax_error(nn_spec_cursor *c)
{
    if (c->p == c->end)
        snprintf(c->why, sizeof c->why, "expected %s", c->grammar);
    else
        snprintf(c->why, sizeof c->why, "expected %s, found '%c' at %d",
                 c->grammar, *c->p, (int)(c->p - c->start) + 1);
    return 0;
}

int nn_spec_expect(nn_spec_cursor *c, char ch)
{
    char text[2] = {ch, '\0'};
    return nn_spec_accept(c, text) || syntax_error(c);
}

/* "what 123 is out of range R" for the number text [start, c->p); 0. */
static int out_of_range(nn_spec_cursor *c, const char *what,
                        const char *start, const char *range)
{
    int digits = (int)(c->p - start);
    snprintf(c->why, sizeof c->why, "%s %.*s%s is out of range %s", what,
             digits > 12 ? 12 : digits, start, digits > 12 ? "..." : "",
             range);
    return 0;
}

int nn_spec_int(nn_spec_cursor *c, const char *what, int min, int max,
                int *out)
{
    const char *start = c->p;
    char range[32];
    long value = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
        if (value <= max)
            value = value * 10 + (*c->p - '0');
        c->p++;
    }
    if (c->p == start)
        return syntax_error(c);
    if (value < min || value > max) {
        snprintf(range, sizeof range, "%d..%d", min, max);
        return out_of_range(c, what, start, range);
    }
    *out = (int)value;
    return 1;
}

int nn_spec_float(nn_spec_cursor *c, const char *what, float min, float max,
                  float *out)
{
    const char *start = c->p;
    char text[32], range[48];
    int digits = 0;
    float value = 0.0f;
    while (c->p < c->end && isdigit((unsigned char)*c->p))
        c->p++, digits++;
    if (c->p < c->end && *c->p == '.')
        for (c->p++; c->p < c->end && isdigit((unsigned char)*c->p); c->p++)
            digits++;
    if (digits == 0) {
        c->p = start;
        return syntax_error(c);
    }
    if ((size_t)(c->p - start) < sizeof text) {
        memcpy(text, start, (size_t)(c->p - start));
        text[c->p - start] = '\0';
        value = strtof(text, NULL);
    }
    if ((size_t)(c->p - start) >= sizeof text || !(value >= min && value < max)) {
        snprintf(range, sizeof range, "[%g, %g)", (double)min, (double)max);
        return out_of_range(c, what, start, range);
    }
    *out = value;
    return 1;
}

int nn_spec_stride_pad(nn_spec_cursor *c, nn_layer_args *a, int with_pad)
{
    if (nn_spec_accept(c, "s") &&
        !nn_spec_int(c, "stride", 1, NN_SPEC_MAX_SIDE, &a->stride))
        return 0;
    return !with_pad || !nn_spec_accept(c, "p") ||
           nn_spec_int(c, "padding", 0, NN_SPEC_MAX_SIDE, &a->pad);
}

int nn_spec_print_stride_pad(const nn_layer_args *a, int plain_stride,
                             char *buf, size_t size)
{
    char stride[16] = "", pad[16] = "";
    if (a->stride != plain_stride)
        snprintf(stride, sizeof stride, "s%d", a->stride);
    if (a->pad != 0)
        snprintf(pad, sizeof pad, "p%d", a->pad);
    return snprintf(buf, size, "%s%s", stride, pad);
}

int nn_spec_window(nn_spec_cursor *c, nn_layer_args *a, int with_pad)
{
    if (!nn_spec_int(c, "pool window", 1, NN_SPEC_MAX_SIDE, &a->kh))
        return 0;
    a->kw = a->stride = a->kh;
    return nn_spec_stride_pad(c, a, with_pad);
}

int nn_spec_print_window(const nn_layer_args *a, const char *prefix,
                         char *buf, size_t size)
{
    char rest[40];
    nn_spec_print_stride_pad(a, a->kh, rest, sizeof rest);
    return snprintf(buf, size, "%s%d%s", prefix, a->kh, rest);
}

int nn_spec_print_float(char *buf, size_t size, const char *prefix, float v)
{
    char text[32];
    int digits = 1;
    do
        snprintf(text, sizeof text, "%.*g", digits, (double)v);
    while (strtof(text, NULL) != v && ++digits <= 9);
    return snprintf(buf, size, "%s%s", prefix, text);
}

/* "conv, dense, pool, ...": every kind's token, for messages. */
static void list_tokens(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; nn_layer_kinds[i] && used < size; i++) {
        int len = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                           nn_layer_kinds[i]->token);
        if (len < 0)
            return;
        used += (size_t)len;
    }
}

/* Parses one trimmed token into its kind and args; 0 with c->why set when
 * it is wrong. */
static int parse_token(nn_spec_cursor *c, const nn_layer_kind **kind,
                       nn_layer_args *args)
{
    size_t prefix;
    char tokens[120];
    if (c->p == c->end) {
        snprintf(c->why, sizeof c->why, "empty layer");
        return 0;
    }
    *kind = nn_layer_kind_match(c->p, c->end, &prefix);
    if (!*kind) {
        list_tokens(tokens, sizeof tokens);
        snprintf(c->why, sizeof c->why, "unknown layer (expected %s)",
                 tokens);
        return 0;
    }
    c->p += prefix;
    c->grammar = (*kind)->grammar;
    *args = (*kind)->defaults;
    if ((*kind)->parse && !(*kind)->parse(c, args))
        return 0;
    return c->p == c->end || syntax_error(c);
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
        nn_spec_cursor c;
        const nn_layer_kind *kind;
        nn_layer_args args;
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
        if (!parse_token(&c, &kind, &args)) {
            token_msg(msg, msg_size, index, start, end, c.why);
            return NN_EINVAL;
        }
        if (net && (st = nn_net_add_kind(net, kind, &args)) != NN_OK) {
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
