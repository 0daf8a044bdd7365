/* The sequential network: its list of layers, its settings and what it
 * tells about itself. Building is in net_build.c, running in net_run.c. */
#include "net/net_internal.h"
#include "core/util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fills a new net's fields (its memory is zeroed). */
static void net_init(nn_net *net, int c, int h, int w)
{
    net->in_c = c;
    net->in_h = h;
    net->in_w = w;
    net->training = 1;
    net->noise_seed = 0;
    net->threads = 1;
    net->shards = NN_SHARDS_DEFAULT;
    for (int i = 0; i < 3; i++)
        net->std[i] = 1.0f;
}

/* NN_OK when (c, h, w) is an input shape a net takes. */
static nn_status check_input(int c, int h, int w)
{
    if (c <= 0 || h <= 0 || w <= 0)
        return NN_EINVAL;
    return (size_t)c * h > (1u << 30) / (size_t)w ? NN_EOVERFLOW : NN_OK;
}

_Static_assert(NN_ALIGN == NN_BUFFER_ALIGN, "one alignment for nets in buffers");

nn_status nn_net_create(int c, int h, int w, nn_net **out)
{
    nn_net *net;
    nn_status st;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    if ((st = check_input(c, h, w)) != NN_OK)
        return st;
    net = calloc(1, sizeof *net);
    if (!net)
        return NN_ENOMEM;
    net_init(net, c, h, w);
    *out = net;
    return NN_OK;
}

nn_status nn_net_create_in(int c, int h, int w, void *buffer, size_t size,
                           nn_net **out)
{
    nn_arena arena = {NULL, 0, 0};
    size_t skip;
    nn_net *net;
    nn_status st;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    if (!buffer || (st = check_input(c, h, w)) != NN_OK)
        return buffer ? st : NN_EINVAL;
    skip = (NN_ALIGN - (uintptr_t)buffer % NN_ALIGN) % NN_ALIGN;
    if (size < skip)
        return NN_ENOMEM;
    arena.base = (unsigned char *)buffer + skip;
    arena.size = size - skip;
    net = nn_arena_take(&arena, sizeof *net);
    if (!net)
        return NN_ENOMEM;
    net_init(net, c, h, w);
    net->arena = arena;
    *out = net;
    return NN_OK;
}

void *nn_net_take(nn_net *net, size_t bytes)
{
    return net ? nn_arena_take(&net->arena, bytes) : NULL;
}

size_t nn_net_buffer_used(const nn_net *net)
{
    return net ? net->arena.used : 0;
}

void nn_net_destroy(nn_net *net)
{
    if (!net || net->arena.base)
        return; /* in a caller's buffer: the caller frees it */
    for (int i = 0; i < net->count; i++)
        free(net->layers[i]);
    free(net->layers);
    nn_net_free_arenas(net);
    nn_pool_destroy(net->pool);
    free(net);
}

/* A new layer of kind with args (the kind's defaults when NULL), checked;
 * from the net's buffer, or the heap and freed with free(). */
static nn_status layer_create(nn_net *net, const nn_layer_kind *kind,
                              const nn_layer_args *args, nn_layer **out)
{
    nn_layer_args a = args ? *args : kind->spec.defaults;
    nn_status st = kind->spec.check ? kind->spec.check(&a) : NN_OK;
    *out = NULL;
    if (st != NN_OK)
        return st;
    *out = net->arena.base ? nn_arena_take(&net->arena, kind->object_size)
                           : calloc(1, kind->object_size);
    if (!*out)
        return NN_ENOMEM;
    (*out)->kind = kind;
    (*out)->args = a;
    return NN_OK;
}

/* Records the first error of the net, and why (a printf format). */
static nn_status fail(nn_net *net, nn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static nn_status fail(nn_net *net, nn_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(net->why, sizeof net->why, fmt, ap);
    va_end(ap);
    if (net->error == NN_OK)
        net->error = st;
    return st;
}

/* Whether a layer of kind may read tensors reads[0..count) as layer
 * net->count; NN_OK or the reason in net->why. */
static nn_status check_reads(nn_net *net, const nn_layer_kind *kind,
                             const int *reads, int count)
{
    int join = (kind->flags & NN_KIND_JOIN) != 0;
    if (join && (count < 2 || count > NN_MAX_INPUTS))
        return fail(net, NN_EINVAL, "layer %d (%s) joins 2 to %d outputs, "
                    "not %d", net->count, kind->name, NN_MAX_INPUTS, count);
    if (!join && count != 1)
        return fail(net, NN_EINVAL, "layer %d (%s) reads one output, not %d",
                    net->count, kind->name, count);
    for (int k = 0; k < count; k++)
        if (reads[k] < 0 || reads[k] > net->count)
            return fail(net, NN_EINVAL, "layer %d (%s) reads a later or "
                        "missing output", net->count, kind->name);
    return NN_OK;
}

/* The layer table with room for capacity layers: grown on the heap, or a
 * new copy in the net's buffer (the old one stays, unused: a deterministic
 * 8 + 16 + ... pointers, whatever the spec). */
static nn_layer **grow_table(nn_net *net, int capacity)
{
    nn_layer **grown;
    if (!net->arena.base)
        return realloc(net->layers, sizeof *grown * (size_t)capacity);
    grown = nn_arena_take(&net->arena, sizeof *grown * (size_t)capacity);
    if (grown && net->count)
        memcpy(grown, net->layers, sizeof *grown * (size_t)net->count);
    return grown;
}

nn_status nn_net_add_reading(nn_net *net, const nn_layer_kind *kind,
                             const nn_layer_args *args, const int *reads,
                             int count)
{
    nn_layer *layer = NULL;
    int previous = net ? net->count : 0;
    nn_status st;
    if (!net)
        return NN_EINVAL;
    if (net->built)
        return fail(net, NN_ESTATE, "the net is built: no layer can be added");
    if (!reads) {
        reads = &previous;
        count = 1;
    }
    if ((st = check_reads(net, kind, reads, count)) != NN_OK)
        return st;
    st = layer_create(net, kind, args, &layer);
    if (st == NN_OK && net->count == net->capacity) {
        int capacity = net->capacity ? 2 * net->capacity : 8;
        nn_layer **grown = capacity > 4096 ? NULL : grow_table(net, capacity);
        if (!grown)
            st = capacity > 4096 ? NN_EOVERFLOW : NN_ENOMEM;
        else {
            net->layers = grown;
            net->capacity = capacity;
        }
    }
    if (st != NN_OK) {
        if (!net->arena.base)
            free(layer);
        return fail(net, st, "layer %d (%s): %s", net->count, kind->name,
                    st == NN_EINVAL ? "hyper-parameters out of range"
                                    : nn_status_str(st));
    }
    layer->inputs = count;
    memcpy(layer->reads, reads, sizeof *reads * (size_t)count);
    net->layers[net->count++] = layer;
    return NN_OK;
}

nn_status nn_net_add_kind(nn_net *net, const nn_layer_kind *kind,
                          const nn_layer_args *args)
{
    return nn_net_add_reading(net, kind, args, NULL, 0);
}

nn_status nn_net_first_error(const nn_net *net)
{
    return net->error;
}

void nn_net_truncate(nn_net *net, int count, nn_status error)
{
    while (net->count > count) {
        net->count--;
        if (!net->arena.base)
            free(net->layers[net->count]);
    }
    net->error = error;
}

/* The kind called kind (token, name or alias), or NULL. */
static const nn_layer_kind *kind_named(const char *kind)
{
    for (int i = 0; kind && nn_layer_kinds[i]; i++) {
        const nn_layer_kind *k = nn_layer_kinds[i];
        if (!strcmp(kind, k->spec.token) || !strcmp(kind, k->name) ||
            (k->spec.alias && !strcmp(kind, k->spec.alias)))
            return k;
    }
    return NULL;
}

nn_status nn_net_add_layer_from(nn_net *net, const char *kind,
                                const nn_layer_args *args, const int *from,
                                int count)
{
    const nn_layer_kind *k = kind_named(kind);
    int reads[NN_MAX_INPUTS];
    if (!net)
        return NN_EINVAL;
    if (!k)
        return fail(net, NN_EINVAL, "no layer kind is called '%.40s'",
                    kind ? kind : "(null)");
    if (!from || count < 1 || count > NN_MAX_INPUTS)
        return fail(net, NN_EINVAL, "layer %d (%s) reads 1 to %d outputs, "
                    "not %d", net->count, k->name, NN_MAX_INPUTS, count);
    for (int i = 0; i < count; i++) {
        if (from[i] < -1 || from[i] >= net->count)
            return fail(net, NN_EINVAL, "layer %d (%s) reads layer %d: a "
                        "layer reads only the input (-1) and earlier layers "
                        "(0 to %d)", net->count, k->name, from[i],
                        net->count - 1);
        reads[i] = from[i] + 1;
    }
    return nn_net_add_reading(net, k, args, reads, count);
}

nn_status nn_net_add_add(nn_net *net, const int *from, int count)
{
    return nn_net_add_layer_from(net, "add", NULL, from, count);
}

nn_status nn_net_add_concat(nn_net *net, const int *from, int count)
{
    return nn_net_add_layer_from(net, "concat", NULL, from, count);
}

/* N when name is "l<N>" (reserved for layer N: the name a spec gives an
 * unnamed layer), else -1. */
static long reserved_index(const char *name)
{
    char *end;
    long n;
    if (name[0] != 'l' || !isdigit((unsigned char)name[1]) ||
        strlen(name) > 10)
        return -1;
    n = strtol(name + 1, &end, 10);
    return *end == '\0' ? n : -1;
}

nn_status nn_net_name_layer(nn_net *net, int i, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    int taken;
    if (!net || i < 0 || i >= net->count || !name)
        return NN_EINVAL;
    if (len == 0 || len >= NN_NAME_SIZE || !isalpha((unsigned char)name[0]) ||
        strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_") != len)
        return fail(net, NN_EINVAL, "'%.40s' is not a layer name: a letter, "
                    "then letters, digits or '_', at most %d characters",
                    name, NN_NAME_SIZE - 1);
    if (!strcmp(name, "input") ||
        (reserved_index(name) >= 0 && reserved_index(name) != i))
        return fail(net, NN_EINVAL, "'%s' is reserved for %s", name,
                    name[0] == 'i' ? "the net's input" : "another layer");
    if (nn_net_find_layer(net, name, &taken) == NN_OK && taken != i)
        return fail(net, NN_EINVAL, "'%s' already names layer %d", name,
                    taken);
    memcpy(net->layers[i]->name, name, len + 1);
    return NN_OK;
}

nn_status nn_net_find_layer(const nn_net *net, const char *name, int *index)
{
    if (!net || !name || !index)
        return NN_EINVAL;
    *index = -1;
    if (!strcmp(name, "input"))
        return NN_OK;
    if (reserved_index(name) >= 0 && reserved_index(name) < net->count) {
        *index = (int)reserved_index(name);
        return NN_OK;
    }
    for (int i = 0; i < net->count; i++)
        if (!strcmp(net->layers[i]->name, name)) {
            *index = i;
            return NN_OK;
        }
    return NN_EINVAL;
}

const char *nn_net_why(const nn_net *net)
{
    return net ? net->why : "";
}

nn_status nn_net_add_layer(nn_net *net, const char *kind,
                           const nn_layer_args *args)
{
    const nn_layer_kind *k = kind_named(kind);
    if (!k)
        return net ? fail(net, NN_EINVAL, "no layer kind is called '%.40s'",
                          kind ? kind : "(null)")
                   : NN_EINVAL;
    return nn_net_add_kind(net, k, args);
}

void nn_net_set_training(nn_net *net, int training)
{
    if (net)
        net->training = training != 0 && !net->inference_only;
}

int nn_net_training(const nn_net *net)
{
    return net ? net->training : 0;
}

void nn_net_set_input_grad(nn_net *net, int on)
{
    if (net)
        net->input_grad = on != 0;
}

nn_status nn_net_set_kernels(nn_net *net, nn_kernels kernels)
{
    if (!net || (kernels != NN_KERNELS_AUTO && kernels != NN_KERNELS_PORTABLE &&
                 kernels != NN_KERNELS_REFERENCE))
        return NN_EINVAL;
    net->kernels = kernels;
    return NN_OK;
}

nn_kernels nn_net_kernels(const nn_net *net)
{
    return net ? net->kernels : NN_KERNELS_AUTO;
}

nn_status nn_net_set_threads(nn_net *net, int threads)
{
    nn_pool *pool = NULL;
    float *scratch = NULL;
    nn_status st;
    if (!net || threads < 0 || threads > NN_MAX_THREADS)
        return NN_EINVAL;
    if (net->arena.base)
        return threads == 1 ? NN_OK : NN_ESTATE; /* one thread, no pool */
    if (threads == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online < 1 ? 1 : online > NN_MAX_THREADS ? NN_MAX_THREADS : (int)online;
    }
    if (threads > 1 && (st = nn_pool_create(threads, &pool)) != NN_OK)
        return st;
    if (net->built) {
        scratch = nn_alloc_floats(net->scratch_stride * (size_t)threads);
        if (!scratch) {
            nn_pool_destroy(pool);
            return NN_ENOMEM;
        }
        free(net->scratch);
        net->scratch = scratch;
    }
    nn_pool_destroy(net->pool);
    net->pool = pool;
    net->threads = threads;
    return NN_OK;
}

int nn_net_threads(const nn_net *net)
{
    return net ? net->threads : 0;
}

nn_pool *nn_net_pool(const nn_net *net)
{
    return net ? net->pool : NULL;
}

nn_status nn_net_set_shards(nn_net *net, int shards)
{
    if (!net || shards < 1 || shards > NN_SHARDS_MAX)
        return NN_EINVAL;
    if (net->built && net->grads &&
        nn_net_partial_count(shards) > nn_net_partial_count(net->shards)) {
        float *partials;
        size_t floats;
        if (!nn_mul_size(net->partials_stride,
                         (size_t)nn_net_partial_count(shards) + 1, &floats))
            return NN_EOVERFLOW;
        if (!(partials = nn_alloc_floats(floats)))
            return NN_ENOMEM;
        free(net->partials);
        net->partials = partials;
    }
    net->shards = shards;
    net->batch_total = 0; /* the last pass's shards no longer fit */
    return NN_OK;
}

int nn_net_shards(const nn_net *net)
{
    return net ? net->shards : 0;
}

int nn_shard_start(int total, int shards, int s)
{
    return shards > 0 ? (int)((long long)total * s / shards) : 0;
}

void nn_net_set_group(nn_net *net, const nn_group *group)
{
    if (net)
        net->group = group;
}

int nn_net_layer_count(const nn_net *net)
{
    return net ? net->count : 0;
}

nn_status nn_net_layer_info(const nn_net *net, int i, nn_layer_info *out)
{
    const nn_layer *layer;
    if (!net || !out || i < 0 || i >= net->count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    layer = net->layers[i];
    out->kind = layer->kind->name;
    out->args = layer->args;
    out->in_c = layer->in_c;
    out->in_h = layer->in_h;
    out->in_w = layer->in_w;
    out->out_c = layer->out_c;
    out->out_h = layer->out_h;
    out->out_w = layer->out_w;
    out->params = layer->sizes.params;
    out->decayed = layer->sizes.decayed;
    out->state = layer->sizes.state;
    out->name = layer->name;
    out->inputs = layer->inputs;
    for (int k = 0; k < NN_MAX_INPUTS; k++)
        out->from[k] = k < layer->inputs ? layer->reads[k] - 1 : 0;
    return NN_OK;
}

nn_status nn_net_layer_params(nn_net *net, int i, float **values,
                              float **grads, size_t *count)
{
    if (!net || i < 0 || i >= net->count || !values || !grads || !count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    net->weights_version++; /* the caller may write them */
    *values = net->layers[i]->params;
    *grads = net->layers[i]->grads;
    *count = net->layers[i]->sizes.params;
    return NN_OK;
}

nn_status nn_net_layer_fields(const nn_net *net, int i, nn_layer_field *out,
                              int *count)
{
    const nn_layer *layer;
    if (!net || !out || !count || i < 0 || i >= net->count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    layer = net->layers[i];
    *count = layer->kind->describe.fields ? layer->kind->describe.fields(layer, out) : 0;
    return NN_OK;
}

size_t nn_net_param_count(const nn_net *net)
{
    return net ? net->n_params : 0;
}

float *nn_net_params(nn_net *net)
{
    if (!net)
        return NULL;
    net->weights_version++; /* the caller may write them */
    return net->params;
}

const float *nn_net_params_read(const nn_net *net)
{
    return net ? net->params : NULL;
}

const float *nn_net_state_read(const nn_net *net)
{
    return net ? net->state : NULL;
}

float *nn_net_grads(nn_net *net)
{
    return net ? net->grads : NULL;
}

int nn_net_max_batch(const nn_net *net)
{
    return net ? net->max_batch : 0;
}

void nn_net_input_shape(const nn_net *net, int *c, int *h, int *w)
{
    *c = net ? net->in_c : 0;
    *h = net ? net->in_h : 0;
    *w = net ? net->in_w : 0;
}

nn_status nn_net_set_normalization(nn_net *net, const float mean[3],
                                   const float std[3])
{
    if (!net || !mean || !std)
        return NN_EINVAL;
    for (int i = 0; i < 3; i++)
        if (!isfinite(mean[i]) || !(std[i] > 0.0f) || !isfinite(std[i]))
            return NN_EINVAL;
    memcpy(net->mean, mean, sizeof net->mean);
    memcpy(net->std, std, sizeof net->std);
    return NN_OK;
}

void nn_net_normalization(const nn_net *net, float mean[3], float std[3])
{
    for (int i = 0; i < 3; i++) {
        mean[i] = net ? net->mean[i] : 0.0f;
        std[i] = net ? net->std[i] : 1.0f;
    }
}

void nn_net_noise(const nn_net *net, uint64_t *seed, uint64_t *pass)
{
    *seed = net ? net->noise_seed : 0;
    *pass = net ? net->noise_pass : 0;
}

void nn_net_set_noise(nn_net *net, uint64_t seed, uint64_t pass)
{
    if (net) {
        net->noise_seed = seed;
        net->noise_pass = pass;
    }
}

float *nn_net_state(nn_net *net)
{
    if (!net)
        return NULL;
    net->weights_version++; /* the caller may write it */
    return net->state;
}

size_t nn_net_state_count(const nn_net *net)
{
    return net ? net->n_state : 0;
}

/* The inputs layer i lists in its spec token, in *first and the return
 * value: none when it reads the previous output; a join reading the
 * previous output and one other lists that other. */
static int listed_reads(const nn_layer *layer, int i, int *first)
{
    *first = 0;
    if (layer->inputs == 1 && layer->reads[0] == i)
        return 0;
    if (layer->inputs == 2 && layer->reads[0] == i) {
        *first = 1;
        return 1;
    }
    return layer->inputs;
}

/* Whether tensor t is listed by a later layer's spec token. */
static int listed(const nn_net *net, int t)
{
    for (int i = t; i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        int first, n = listed_reads(layer, i, &first);
        for (int k = first; k < first + n; k++)
            if (layer->reads[k] == t)
                return 1;
    }
    return 0;
}

/* The name tensor t goes by in a spec: "input", its layer's name, or
 * "l<N>" for an unnamed layer N. */
static void tensor_name(const nn_net *net, int t, char *buf, size_t size)
{
    if (t == 0)
        snprintf(buf, size, "input");
    else if (net->layers[t - 1]->name[0])
        snprintf(buf, size, "%s", net->layers[t - 1]->name);
    else
        snprintf(buf, size, "l%d", t - 1);
}

/* Layer i's token with its inputs and name, like snprintf. */
static int print_token(const nn_net *net, int i, char *buf, size_t size)
{
    const nn_layer *layer = net->layers[i];
    char name[NN_NAME_SIZE + 8];
    int first, n = listed_reads(layer, i, &first);
    int used = nn_layer_print(layer, buf, size), len;
    for (int k = first; used >= 0 && k < first + n; k++) {
        tensor_name(net, layer->reads[k], name, sizeof name);
        len = snprintf(buf + ((size_t)used < size ? (size_t)used : size),
                       (size_t)used < size ? size - (size_t)used : 0,
                       "%s%s%s", k == first ? "(" : ",", name,
                       k + 1 == first + n ? ")" : "");
        used = len < 0 ? -1 : used + len;
    }
    if (used >= 0 && (layer->name[0] || listed(net, i + 1))) {
        tensor_name(net, i + 1, name, sizeof name);
        len = snprintf(buf + ((size_t)used < size ? (size_t)used : size),
                       (size_t)used < size ? size - (size_t)used : 0, "@%s",
                       name);
        used = len < 0 ? -1 : used + len;
    }
    return used;
}

nn_status nn_net_spec(const nn_net *net, char *buf, size_t size)
{
    size_t used = 0;
    if (!net || !buf || size == 0)
        return NN_EINVAL;
    buf[0] = '\0';
    for (int i = 0; i < net->count; i++) {
        int len;
        if (i > 0) {
            if (used + 1 >= size)
                return NN_EOVERFLOW;
            buf[used++] = ',';
            buf[used] = '\0';
        }
        len = print_token(net, i, buf + used, size - used);
        if (len < 0 || (size_t)len >= size - used) {
            buf[used] = '\0';
            return NN_EOVERFLOW;
        }
        used += (size_t)len;
    }
    return NN_OK;
}

void nn_net_next_noise(nn_net *net)
{
    net->noise_pass++;
}
