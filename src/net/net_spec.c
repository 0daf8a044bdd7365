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
    /* He et al. 2015's ResNet-20 for 3x32x32: a stem, then 3 stages of 3
     * basic blocks (16, 32, 64 channels; each block two 3x3 convolutions
     * with batchnorm, its input added before the last relu), a mean per
     * channel and the classifier. Where a stage halves the size, the
     * shortcut is a strided 1x1 convolution with batchnorm (the paper's
     * option B; its CIFAR-10 runs used zero padding, option A). */
    {"resnet20",
        "conv3x3x16p1,bn,relu@s0,"
        "conv3x3x16p1,bn,relu,conv3x3x16p1,bn,add(s0),relu@b1,"
        "conv3x3x16p1,bn,relu,conv3x3x16p1,bn,add(b1),relu@b2,"
        "conv3x3x16p1,bn,relu,conv3x3x16p1,bn,add(b2),relu@b3,"
        "conv3x3x32s2p1,bn,relu,conv3x3x32p1,bn@m1,conv1x1x32s2(b3),bn,"
        "add(m1),relu@b4,"
        "conv3x3x32p1,bn,relu,conv3x3x32p1,bn,add(b4),relu@b5,"
        "conv3x3x32p1,bn,relu,conv3x3x32p1,bn,add(b5),relu@b6,"
        "conv3x3x64s2p1,bn,relu,conv3x3x64p1,bn@m2,conv1x1x64s2(b6),bn,"
        "add(m2),relu@b7,"
        "conv3x3x64p1,bn,relu,conv3x3x64p1,bn,add(b7),relu@b8,"
        "conv3x3x64p1,bn,relu,conv3x3x64p1,bn,add(b8),relu@b9,"
        "gap,dense10"},
    /* A small residual net for 1x28x28: a stem, one basic block at 28x28
     * (16 channels), two at 14x14 (32) and two at 7x7 (64), shortcuts as
     * in resnet20. */
    {"resnet-small",
        "conv3x3x16p1,bn,relu@s0,"
        "conv3x3x16p1,bn,relu,conv3x3x16p1,bn,add(s0),relu@b1,"
        "conv3x3x32s2p1,bn,relu,conv3x3x32p1,bn@m1,conv1x1x32s2(b1),bn,"
        "add(m1),relu@b2,"
        "conv3x3x32p1,bn,relu,conv3x3x32p1,bn,add(b2),relu@b3,"
        "conv3x3x64s2p1,bn,relu,conv3x3x64p1,bn@m2,conv1x1x64s2(b3),bn,"
        "add(m2),relu@b4,"
        "conv3x3x64p1,bn,relu,conv3x3x64p1,bn,add(b4),relu@b5,"
        "gap,dense10"},
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

const char *nn_spec_preset_name(int i)
{
    return i >= 0 && (size_t)i < sizeof presets / sizeof presets[0]
               ? presets[i].name : NULL;
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

/* One token of a spec, cut into its parts:
 * layer [ "(" ref { "," ref } ")" ] [ "@" name ]. */
typedef struct {
    const char *start, *end;            /* the whole token, trimmed */
    const char *layer_end;              /* end of the layer's own text */
    const char *refs, *refs_end;        /* inside the parentheses, or NULL */
    const char *name, *name_end;        /* after '@', or NULL */
} spec_token;

/* The end of the token starting at p: the next comma outside parentheses,
 * or the end of the spec; NULL when a parenthesis is unbalanced. */
static const char *token_end(const char *p)
{
    int depth = 0;
    for (; *p && !(*p == ',' && depth == 0); p++) {
        depth += (*p == '(') - (*p == ')');
        if (depth < 0 || depth > 1)
            return NULL;
    }
    return depth == 0 ? p : NULL;
}

/* Cuts [start, end) into t's parts; 0 with why when they are misplaced. */
static int cut_token(const char *start, const char *end, spec_token *t,
                     char *why, size_t why_size)
{
    const char *at = memchr(start, '@', (size_t)(end - start));
    const char *open = memchr(start, '(', (size_t)(end - start));
    memset(t, 0, sizeof *t);
    t->start = start;
    t->end = t->layer_end = end;
    if (at) {
        t->name = at + 1;
        t->name_end = end;
        trim(&t->name, &t->name_end);
        t->layer_end = at;
        if (memchr(t->name, '@', (size_t)(end - t->name)) ||
            memchr(t->name, '(', (size_t)(end - t->name))) {
            snprintf(why, why_size, "a layer has one name, after its inputs: "
                     "layer(a,b)@name");
            return 0;
        }
    }
    if (open && open < t->layer_end) {
        const char *close = t->layer_end;
        trim(&open, &close);
        if (close == open || close[-1] != ')') {
            snprintf(why, why_size, "the inputs in parentheses end the "
                     "layer's text: layer(a,b)@name");
            return 0;
        }
        t->refs = open + 1;
        t->refs_end = close - 1;
        t->layer_end = open;
    }
    trim(&t->start, &t->layer_end);
    return 1;
}

/* 1 when the spec text [p, end) names a layer `name` ("...@name"). */
static int names_later(const char *p, const char *name, size_t len)
{
    for (const char *at = strchr(p, '@'); at; at = strchr(at + 1, '@')) {
        const char *q = at + 1;
        while (isspace((unsigned char)*q))
            q++;
        if (!strncmp(q, name, len) &&
            (q[len] == '\0' || q[len] == ',' || isspace((unsigned char)q[len])))
            return 1;
    }
    return 0;
}

/* Resolves the names in t's parentheses into the tensors a new layer of
 * kind reads (reads[], *count); without parentheses *count is 0 (the
 * previous output). A join given one name reads the previous output and
 * that one. 0 with why when a name is wrong. */
static int resolve_refs(const nn_net *net, const nn_layer_kind *kind,
                        const spec_token *t, const char *rest, int *reads,
                        int *count, char *why, size_t why_size)
{
    const char *p = t->refs;
    *count = 0;
    if (!p) {
        if (kind->flags & NN_KIND_JOIN) {
            snprintf(why, why_size, "%s joins outputs: %s(a) joins the "
                     "previous output and a's, %s(a,b) a's and b's",
                     kind->name, kind->spec.token, kind->spec.token);
            return 0;
        }
        return 1;
    }
    if ((kind->flags & NN_KIND_JOIN) && !memchr(p, ',', (size_t)(t->refs_end - p)))
        reads[(*count)++] = nn_net_layer_count(net); /* the previous output */
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(t->refs_end - p));
        const char *start = p, *end = comma ? comma : t->refs_end;
        char name[NN_NAME_SIZE + 1];
        int layer;
        size_t len;
        trim(&start, &end);
        len = (size_t)(end - start);
        if (*count == NN_MAX_INPUTS) {
            snprintf(why, why_size, "a layer reads at most %d outputs",
                     NN_MAX_INPUTS);
            return 0;
        }
        if (len == 0 || len > NN_NAME_SIZE - 1) {
            snprintf(why, why_size, "'%.*s' is not a layer name", (int)(len > 40 ? 40 : len), start);
            return 0;
        }
        memcpy(name, start, len);
        name[len] = '\0';
        if (nn_net_find_layer(net, name, &layer) != NN_OK) {
            if (t->name && (size_t)(t->name_end - t->name) == len &&
                !memcmp(t->name, name, len))
                snprintf(why, why_size, "'%s' is this layer's own name: a "
                         "layer reads only earlier outputs (no cycles)", name);
            else if (names_later(rest, name, len))
                snprintf(why, why_size, "'%s' names a later layer: a layer "
                         "reads only earlier outputs", name);
            else
                snprintf(why, why_size, "no earlier layer is called '%s' "
                         "(name one with @%s, or read 'input')", name, name);
            return 0;
        }
        reads[(*count)++] = layer + 1;
        if (!comma)
            return 1;
        p = comma + 1;
    }
}

/* Appends the layer of token t; 0 with why when it is wrong. */
static nn_status add_token(nn_net *net, const spec_token *t, const char *rest,
                           char *why, size_t why_size)
{
    nn_spec_cursor c;
    const nn_layer_kind *kind;
    nn_layer_args args;
    int reads[NN_MAX_INPUTS], count;
    nn_status st;
    char name[NN_NAME_SIZE + 1];
    c.start = c.p = t->start;
    c.end = t->layer_end;
    c.grammar = "";
    if (!parse_token(&c, &kind, &args)) {
        snprintf(why, why_size, "%s", c.why);
        return NN_EINVAL;
    }
    if (!resolve_refs(net, kind, t, rest, reads, &count, why, why_size))
        return NN_EINVAL;
    st = nn_net_add_reading(net, kind, &args, count ? reads : NULL, count);
    if (st == NN_OK && t->name) { /* a longer name is cut to one too long */
        size_t len = (size_t)(t->name_end - t->name);
        snprintf(name, sizeof name, "%.*s",
                 (int)(len < NN_NAME_SIZE ? len : NN_NAME_SIZE), t->name);
        st = nn_net_name_layer(net, nn_net_layer_count(net) - 1, name);
    }
    if (st != NN_OK && !why[0])
        snprintf(why, why_size, "%s", nn_net_why(net)[0] ? nn_net_why(net)
                                                        : nn_status_str(st));
    return st;
}

/* Parses every token of spec and appends its layer to net. */
static nn_status walk(nn_net *net, const char *spec, char *msg,
                      size_t msg_size)
{
    const char *p = spec;
    for (int index = 1;; index++) {
        const char *end = token_end(p), *start = p, *stop;
        spec_token t;
        char why[200] = "";
        nn_status st = NN_OK;
        if (index > SPEC_MAX_LAYERS) {
            nn_format_msg(msg, msg_size, "spec has more than %d layers",
                          SPEC_MAX_LAYERS);
            return NN_EOVERFLOW;
        }
        if (!end) {
            end = p + strlen(p);
            token_msg(msg, msg_size, index, start, end,
                      "unbalanced or nested parentheses");
            return NN_EINVAL;
        }
        stop = end;
        trim(&start, &end);
        if (!cut_token(start, end, &t, why, sizeof why) ||
            (st = add_token(net, &t, stop, why, sizeof why)) != NN_OK) {
            token_msg(msg, msg_size, index, start, end, why);
            return st == NN_OK ? NN_EINVAL : st;
        }
        if (!*stop)
            return NN_OK;
        p = stop + 1;
    }
}

nn_status nn_net_add_spec(nn_net *net, const char *spec, char *msg,
                          size_t msg_size)
{
    const char *start = spec, *end, *preset;
    nn_status st, error;
    int count;
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
    count = nn_net_layer_count(net);
    error = nn_net_first_error(net);
    st = walk(net, spec, msg, msg_size);
    if (st != NN_OK) /* the net as it was */
        nn_net_truncate(net, count, error);
    return st;
}
