/* Architecture specs: "conv5x5x16p2,relu,pool2,dense10" to layers, and the
 * named presets. Each token starts with a layer kind's token (the table of
 * src/layers/layers.c), whose own parse function reads the rest. Every token
 * is checked before the first layer is added, so a bad spec leaves the net
 * as it was. Grammar: docs/FORMAT.md. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/spec.h"
#include "core/util.h"
#include "layers/layer.h"
#include "net/net.h"

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

/* "conv, dense, pool, ...": every kind's token, for messages. */
static void list_tokens(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; nn_layer_kinds[i] && used < size; i++) {
        int len = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                           nn_layer_kinds[i]->spec.token);
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
    c->grammar = (*kind)->spec.grammar;
    *args = (*kind)->spec.defaults;
    if ((*kind)->spec.parse && !(*kind)->spec.parse(c, args))
        return 0;
    return nn_spec_finish(c);
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
