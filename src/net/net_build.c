/* Building a net: every layer is shaped and asked for its sizes, then one
 * allocation per arena (parameters, gradients, state, caches, activations,
 * scratch) is carved into views, and the weights are initialised. */
#include "net/net_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

float *nn_alloc_floats(size_t n)
{
    size_t bytes;
    float *p;
    if (!nn_mul_size(n ? n : 1, sizeof(float), &bytes) ||
        bytes > SIZE_MAX - NN_ALIGN)
        return NULL;
    bytes = (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    p = aligned_alloc(NN_ALIGN, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void nn_net_free_arenas(nn_net *net)
{
    free(net->params);
    free(net->grads);
    free(net->state);
    free(net->cache);
    free(net->acts);
    free(net->scratch);
    free(net->partials);
    free(net->probs);
    free(net->tensors);
    net->params = net->grads = net->state = net->acts = NULL;
    net->scratch = net->partials = net->probs = NULL;
    net->cache = NULL;
    net->tensors = NULL;
}

int nn_net_partial_count(int shards)
{
    return shards * nn_shard_pieces(shards);
}

/* Sums of every layer's needs, with overflow checks. */
typedef struct {
    size_t params, state, cache, scratch, acts, classes, partials;
} net_totals;

static int add_size(size_t *total, size_t more)
{
    if (more > SIZE_MAX - *total)
        return 0;
    *total += more;
    return 1;
}

static size_t round_up(size_t bytes)
{
    return (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

/* Shapes every layer and adds up what the net must allocate. */
static nn_status plan(nn_net *net, int max_batch, net_totals *t)
{
    int c = net->in_c, h = net->in_h, w = net->in_w;
    size_t per_sample = (size_t)c * h * w, act;
    memset(t, 0, sizeof *t);
    if (!nn_mul_size(per_sample, (size_t)max_batch, &act) || !add_size(&t->acts, act))
        return NN_EOVERFLOW;
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        nn_status st;
        layer->in_c = c;
        layer->in_h = h;
        layer->in_w = w;
        st = layer->kind->ops.reshape(layer);
        if (st != NN_OK)
            return st;
        c = layer->out_c;
        h = layer->out_h;
        w = layer->out_w;
        if (!nn_mul_size((size_t)c * h, (size_t)w, &per_sample) ||
            per_sample > (1u << 30) ||
            !nn_mul_size(per_sample, (size_t)max_batch, &act) ||
            act > (size_t)1 << 40 || !add_size(&t->acts, act))
            return NN_EOVERFLOW;
        memset(&layer->sizes, 0, sizeof layer->sizes);
        if (layer->kind->ops.sizes)
            layer->kind->ops.sizes(layer, max_batch, &layer->sizes);
        if (!add_size(&t->params, layer->sizes.params) ||
            !add_size(&t->state, layer->sizes.state) ||
            !add_size(&t->cache, round_up(layer->sizes.cache)))
            return NN_EOVERFLOW;
        if (layer->sizes.scratch > t->scratch)
            t->scratch = layer->sizes.scratch;
        if (layer->sizes.partials > t->partials)
            t->partials = layer->sizes.partials;
    }
    t->classes = per_sample;
    /* One sample's activations, all layers together: a cap that keeps a
     * tiny but hostile spec (a model file's, say) from asking for gigabytes
     * per sample. 2^27 floats is 512 MiB, far beyond small networks. */
    if (t->acts / (size_t)max_batch > NN_MAX_SAMPLE_FLOATS)
        return NN_EOVERFLOW;
    return NN_OK;
}

/* Whether a net can be planned or built: the checks both share. */
static nn_status buildable(const nn_net *net, int max_batch)
{
    if (!net || max_batch <= 0)
        return NN_EINVAL;
    if (net->error != NN_OK)
        return net->error;
    if (net->built)
        return NN_ESTATE;
    return net->count == 0 ? NN_ESHAPE : NN_OK;
}

nn_status nn_net_plan(nn_net *net, int max_batch, size_t *params,
                      size_t *state)
{
    net_totals t;
    nn_status st = buildable(net, max_batch);
    if (st == NN_OK)
        st = plan(net, max_batch, &t);
    if (st == NN_OK) {
        *params = t.params;
        *state = t.state;
    }
    return st;
}

nn_status nn_net_plan_bytes(nn_net *net, int max_batch, int training,
                            size_t *bytes)
{
    net_totals t;
    size_t total, arena;
    int train = training != 0;
    nn_status st = buildable(net, max_batch);
    if (st == NN_OK && !bytes)
        st = NN_EINVAL;
    if (st == NN_OK)
        st = plan(net, max_batch, &t);
    if (st != NN_OK)
        return st;
    {
        /* build()'s arenas below: floats per copy, copies */
        const size_t arenas[][2] = {
            {t.params, train ? 2 : 1},               /* params, grads */
            {t.state, 1},
            {t.cache / sizeof(float) + 1, 1},
            {t.acts, train ? 2 : 1},                 /* values, gradients */
            {(t.scratch + 15) / 16 * 16, (size_t)net->threads},
            {t.partials, train ? (size_t)nn_net_partial_count(net->shards) : 0},
            {t.classes, (size_t)max_batch},          /* probs */
        };
        if (!nn_mul_size((size_t)net->count + 1, sizeof(nn_tensor), &total))
            return NN_EOVERFLOW;
        for (size_t i = 0; i < sizeof arenas / sizeof *arenas; i++)
            if (!nn_mul_size(arenas[i][0], arenas[i][1], &arena) ||
                !nn_mul_size(arena, sizeof(float), &arena) ||
                arena > SIZE_MAX - NN_ALIGN || !add_size(&total, round_up(arena)))
                return NN_EOVERFLOW;
    }
    *bytes = total;
    return NN_OK;
}

/* Points every layer and tensor into the arenas; activations have
 * gradients only when the net is built for training. */
static void wire(nn_net *net)
{
    size_t p = 0, s = 0, cache = 0, a = 0;
    nn_tensor *t = net->tensors;
    t[0].c = net->in_c;
    t[0].h = net->in_h;
    t[0].w = net->in_w;
    for (int i = 0; i <= net->count; i++) {
        size_t n;
        if (i > 0) {
            nn_layer *layer = net->layers[i - 1];
            layer->params = net->params + p;
            layer->grads = net->grads ? net->grads + p : NULL;
            layer->state = net->state + s;
            layer->cache = net->cache + cache;
            p += layer->sizes.params;
            s += layer->sizes.state;
            cache += round_up(layer->sizes.cache);
            t[i].c = layer->out_c;
            t[i].h = layer->out_h;
            t[i].w = layer->out_w;
        }
        n = (size_t)net->max_batch * t[i].c * t[i].h * t[i].w;
        t[i].n = net->max_batch;
        t[i].x = net->acts + a;
        t[i].g = net->inference_only ? NULL : net->acts + a + n;
        a += net->inference_only ? n : 2 * n;
    }
}

/* Allocates the arenas: for training also gradients of the parameters and
 * of every activation, and the partial sums of parameter gradients. */
static nn_status build(nn_net *net, int max_batch, uint64_t seed,
                       int inference_only)
{
    net_totals t;
    int train = !inference_only;
    nn_status st = buildable(net, max_batch);
    if (st != NN_OK)
        return st;
    st = plan(net, max_batch, &t);
    if (st == NN_OK && (t.acts > SIZE_MAX / 2 || t.classes > INT32_MAX))
        st = NN_EOVERFLOW;
    if (st != NN_OK)
        return net->error = st;
    net->n_params = t.params;
    net->n_state = t.state;
    net->max_batch = max_batch;
    net->inference_only = inference_only;
    net->params = nn_alloc_floats(t.params);
    net->grads = train ? nn_alloc_floats(t.params) : NULL;
    net->state = nn_alloc_floats(t.state);
    net->cache = (unsigned char *)nn_alloc_floats(t.cache / sizeof(float) + 1);
    net->acts = nn_alloc_floats((train ? 2 : 1) * t.acts);
    net->scratch_stride = (t.scratch + 15) / 16 * 16; /* 64-byte aligned */
    net->scratch = nn_alloc_floats(net->scratch_stride * (size_t)net->threads);
    net->partials_stride = t.partials;
    net->partials = train ? nn_alloc_floats(t.partials *
                                            (size_t)nn_net_partial_count(net->shards) + 1)
                          : NULL;
    net->probs = nn_alloc_floats(t.classes * (size_t)max_batch);
    net->tensors = calloc((size_t)net->count + 1, sizeof *net->tensors);
    if (!net->params || (train && (!net->grads || !net->partials)) ||
        !net->state || !net->cache || !net->acts || !net->scratch ||
        !net->probs || !net->tensors) {
        nn_net_free_arenas(net);
        return net->error = NN_ENOMEM;
    }
    wire(net);
    net->built = 1;
    net->training = train;
    return nn_net_init(net, seed);
}

nn_status nn_net_build(nn_net *net, int max_batch, uint64_t seed)
{
    return build(net, max_batch, seed, 0);
}

nn_status nn_net_build_inference(nn_net *net, int max_batch, uint64_t seed)
{
    return build(net, max_batch, seed, 1);
}

/* The squared He gain for layer i's weights: that of the activation that
 * follows, looking through transparent layers (batchnorm, dropout); 0
 * (Xavier) when none follows. */
static float activation_gain2(const nn_net *net, int i)
{
    for (int j = i + 1; j < net->count; j++) {
        const nn_layer *next = net->layers[j];
        if (!(next->kind->flags & NN_KIND_TRANSPARENT))
            return next->kind->gain2 ? next->kind->gain2(&next->args) : 0.0f;
    }
    return 0.0f;
}

nn_status nn_net_init(nn_net *net, uint64_t seed)
{
    nn_rng rng;
    if (!net)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        if (layer->kind->ops.init)
            layer->kind->ops.init(layer, &rng, activation_gain2(net, i));
    }
    if (net->grads)
        memset(net->grads, 0, net->n_params * sizeof(float));
    net->noise_seed = seed;
    net->noise_pass = 0;
    net->batch = net->batch_total = 0;
    return NN_OK;
}
