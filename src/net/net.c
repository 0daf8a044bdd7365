/* The sequential network: its list of layers, its settings and what it
 * tells about itself. Building is in net_build.c, running in net_run.c. */
#include "net/net_internal.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

nn_status nn_net_create(int c, int h, int w, nn_net **out)
{
    nn_net *net;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    if (c <= 0 || h <= 0 || w <= 0)
        return NN_EINVAL;
    if ((size_t)c * h > (1u << 30) / (size_t)w)
        return NN_EOVERFLOW;
    net = calloc(1, sizeof *net);
    if (!net)
        return NN_ENOMEM;
    net->in_c = c;
    net->in_h = h;
    net->in_w = w;
    net->training = 1;
    net->noise_seed = 0;
    net->threads = 1;
    net->shards = NN_SHARDS_DEFAULT;
    for (int i = 0; i < 3; i++)
        net->std[i] = 1.0f;
    *out = net;
    return NN_OK;
}

void nn_net_destroy(nn_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->count; i++)
        free(net->layers[i]);
    free(net->layers);
    nn_net_free_arenas(net);
    nn_pool_destroy(net->pool);
    free(net);
}

/* A new layer of kind with args (the kind's defaults when NULL), checked;
 * freed with free(). */
static nn_status layer_create(const nn_layer_kind *kind,
                              const nn_layer_args *args, nn_layer **out)
{
    nn_layer_args a = args ? *args : kind->spec.defaults;
    nn_status st = kind->spec.check ? kind->spec.check(&a) : NN_OK;
    *out = NULL;
    if (st != NN_OK)
        return st;
    *out = calloc(1, kind->object_size);
    if (!*out)
        return NN_ENOMEM;
    (*out)->kind = kind;
    (*out)->args = a;
    return NN_OK;
}

nn_status nn_net_add_kind(nn_net *net, const nn_layer_kind *kind,
                          const nn_layer_args *args)
{
    nn_layer *layer = NULL;
    nn_status st;
    if (!net)
        return NN_EINVAL;
    st = layer_create(kind, args, &layer);
    if (st == NN_OK && net->built)
        st = NN_ESTATE;
    if (st == NN_OK && net->count == net->capacity) {
        int capacity = net->capacity ? 2 * net->capacity : 8;
        nn_layer **grown = capacity > 4096 ? NULL
                           : realloc(net->layers, sizeof *grown * capacity);
        if (!grown)
            st = capacity > 4096 ? NN_EOVERFLOW : NN_ENOMEM;
        else {
            net->layers = grown;
            net->capacity = capacity;
        }
    }
    if (st != NN_OK) {
        free(layer);
        if (net->error == NN_OK)
            net->error = st;
        return st;
    }
    net->layers[net->count++] = layer;
    return NN_OK;
}

nn_status nn_net_add_layer(nn_net *net, const char *kind,
                           const nn_layer_args *args)
{
    for (int i = 0; kind && nn_layer_kinds[i]; i++) {
        const nn_layer_kind *k = nn_layer_kinds[i];
        if (!strcmp(kind, k->spec.token) || !strcmp(kind, k->name) ||
            (k->spec.alias && !strcmp(kind, k->spec.alias)))
            return nn_net_add_kind(net, k, args);
    }
    if (net && net->error == NN_OK)
        net->error = NN_EINVAL;
    return NN_EINVAL;
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
    return NN_OK;
}

nn_status nn_net_layer_params(nn_net *net, int i, float **values,
                              float **grads, size_t *count)
{
    if (!net || i < 0 || i >= net->count || !values || !grads || !count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
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
    return net ? net->params : NULL;
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
    return net ? net->state : NULL;
}

size_t nn_net_state_count(const nn_net *net)
{
    return net ? net->n_state : 0;
}

nn_status nn_net_spec(const nn_net *net, char *buf, size_t size)
{
    size_t used = 0;
    if (!net || !buf || size == 0)
        return NN_EINVAL;
    buf[0] = '\0';
    for (int i = 0; i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        int len;
        if (i > 0) {
            if (used + 1 >= size)
                return NN_EOVERFLOW;
            buf[used++] = ',';
            buf[used] = '\0';
        }
        len = nn_layer_print(layer, buf + used, size - used);
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
