/* The sequential network: layers, one allocation per arena, and the
 * forward/backward passes over them. Nothing here allocates after build. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NN_ALIGN 64

struct nn_net {
    int in_c, in_h, in_w;
    nn_layer **layers;
    int count, capacity;
    nn_status error;       /* first error met while adding layers (sticky) */
    int built, max_batch, batch, training, input_grad;
    long steps;            /* optimizer steps taken (Adam's t) */
    size_t n_params, n_state;
    float *params, *grads; /* (n_params) flat, layer after layer */
    float *velocity;       /* (n_params) optimizer's first moment */
    float *moment2;        /* (n_params) optimizer's second moment (Adam) */
    float *state;          /* (n_state) batchnorm running statistics */
    unsigned char *cache;  /* per-layer forward-to-backward memory */
    float *acts;           /* values and gradients of every activation */
    float *scratch;        /* (threads, scratch_stride) shared by all layers */
    size_t scratch_stride; /* the largest layer's scratch need */
    float *partials;       /* (NN_CHUNKS, largest layer's params) */
    nn_pool *pool;         /* NULL when single-threaded */
    int threads;
    nn_kernels kernels;    /* which kernels forward and backward run */
    float mean[3], std[3]; /* input normalisation, carried by model files */
    float *probs;          /* (max_batch, classes) softmax output */
    nn_tensor *tensors;    /* count + 1: input, then each layer's output */
};

/* 64-byte aligned, zeroed; *n counts floats. */
static float *alloc_floats(size_t n)
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
    net->threads = 1;
    for (int i = 0; i < 3; i++)
        net->std[i] = 1.0f;
    *out = net;
    return NN_OK;
}

static void free_arenas(nn_net *net)
{
    free(net->params);
    free(net->grads);
    free(net->velocity);
    free(net->moment2);
    free(net->state);
    free(net->cache);
    free(net->acts);
    free(net->scratch);
    free(net->partials);
    free(net->probs);
    free(net->tensors);
}

void nn_net_destroy(nn_net *net)
{
    if (!net)
        return;
    for (int i = 0; i < net->count; i++)
        free(net->layers[i]);
    free(net->layers);
    free_arenas(net);
    nn_pool_destroy(net->pool);
    free(net);
}

/* Appends a layer made by a constructor, keeping the first error. */
static nn_status add_layer(nn_net *net, nn_status st, nn_layer *layer)
{
    if (!net) {
        free(layer);
        return NN_EINVAL;
    }
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

nn_status nn_net_add_dense(nn_net *net, int out)
{
    nn_layer *layer;
    nn_status st = nn_dense_create(out, &layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_conv2d(nn_net *net, int out_channels, int kh, int kw,
                            int stride, int pad)
{
    nn_layer *layer;
    nn_status st = nn_conv2d_create(out_channels, kh, kw, stride, pad, &layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_relu(nn_net *net)
{
    nn_layer *layer;
    nn_status st = nn_relu_create(&layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_sigmoid(nn_net *net)
{
    nn_layer *layer;
    nn_status st = nn_sigmoid_create(&layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_tanh(nn_net *net)
{
    nn_layer *layer;
    nn_status st = nn_tanh_create(&layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_maxpool(nn_net *net, int k, int stride)
{
    nn_layer *layer;
    nn_status st = nn_maxpool_create(k, stride, &layer);
    return add_layer(net, st, layer);
}

nn_status nn_net_add_batchnorm(nn_net *net)
{
    nn_layer *layer;
    nn_status st = nn_batchnorm_create(&layer);
    return add_layer(net, st, layer);
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
        st = layer->ops->reshape(layer);
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
        layer->ops->sizes(layer, max_batch, &layer->sizes);
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

/* Points every layer and tensor into the arenas. */
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
            layer->grads = net->grads + p;
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
        t[i].g = net->acts + a + n;
        a += 2 * n;
    }
}

nn_status nn_net_build(nn_net *net, int max_batch, uint64_t seed)
{
    net_totals t;
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
    net->params = alloc_floats(t.params);
    net->grads = alloc_floats(t.params);
    net->velocity = alloc_floats(t.params);
    net->moment2 = alloc_floats(t.params);
    net->state = alloc_floats(t.state);
    net->cache = (unsigned char *)alloc_floats(t.cache / sizeof(float) + 1);
    net->acts = alloc_floats(2 * t.acts);
    net->scratch_stride = (t.scratch + 15) / 16 * 16; /* 64-byte aligned */
    net->scratch = alloc_floats(net->scratch_stride * (size_t)net->threads);
    net->partials = alloc_floats(t.partials * NN_CHUNKS);
    net->probs = alloc_floats(t.classes * (size_t)max_batch);
    net->tensors = calloc((size_t)net->count + 1, sizeof *net->tensors);
    if (!net->params || !net->grads || !net->velocity || !net->moment2 ||
        !net->state || !net->cache || !net->acts || !net->scratch ||
        !net->partials || !net->probs || !net->tensors) {
        free_arenas(net);
        net->params = net->grads = net->velocity = net->moment2 = NULL;
        net->state = net->acts = net->scratch = net->probs = NULL;
        net->partials = NULL;
        net->cache = NULL;
        net->tensors = NULL;
        return net->error = NN_ENOMEM;
    }
    wire(net);
    net->built = 1;
    return nn_net_init(net, seed);
}

/* He initialisation when a relu follows (batchnorm in between allowed). */
static int relu_follows(const nn_net *net, int i)
{
    for (int j = i + 1; j < net->count; j++) {
        const char *name = net->layers[j]->ops->name;
        if (strcmp(name, "batchnorm") != 0)
            return strcmp(name, "relu") == 0;
    }
    return 0;
}

nn_status nn_net_init(nn_net *net, uint64_t seed)
{
    nn_rng rng;
    if (!net)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    nn_rng_seed(&rng, seed);
    for (int i = 0; i < net->count; i++)
        net->layers[i]->ops->init(net->layers[i], &rng, relu_follows(net, i));
    memset(net->grads, 0, net->n_params * sizeof(float));
    memset(net->velocity, 0, net->n_params * sizeof(float));
    memset(net->moment2, 0, net->n_params * sizeof(float));
    net->batch = 0;
    net->steps = 0;
    return NN_OK;
}

nn_tensor *nn_net_input(nn_net *net)
{
    return net && net->built ? &net->tensors[0] : NULL;
}

nn_tensor *nn_net_output(nn_net *net)
{
    return net && net->built ? &net->tensors[net->count] : NULL;
}

void nn_net_set_training(nn_net *net, int training)
{
    if (net)
        net->training = training != 0;
}

void nn_net_set_input_grad(nn_net *net, int on)
{
    if (net)
        net->input_grad = on != 0;
}

static nn_exec exec_for(const nn_net *net)
{
    nn_exec ex;
    ex.scratch = net->scratch;
    ex.scratch_stride = net->scratch_stride;
    ex.partials = net->partials;
    ex.pool = net->pool;
    ex.training = net->training;
    ex.kernels = net->kernels;
    ex.avx2 = net->kernels == NN_KERNELS_AUTO && nn_gemm_has_avx2();
    ex.sgemm = net->kernels == NN_KERNELS_AUTO ? nn_sgemm : nn_sgemm_portable;
    return ex;
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
        scratch = alloc_floats(net->scratch_stride * (size_t)threads);
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

nn_status nn_net_forward(nn_net *net, int batch)
{
    nn_exec ex;
    if (!net)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    if (batch <= 0 || batch > net->max_batch)
        return NN_EINVAL;
    ex = exec_for(net);
    for (int i = 0; i <= net->count; i++)
        net->tensors[i].n = batch;
    for (int i = 0; i < net->count; i++)
        net->layers[i]->ops->forward(net->layers[i], &net->tensors[i],
                                     &net->tensors[i + 1], &ex);
    net->batch = batch;
    return NN_OK;
}

/* One of NN_CHUNKS slices of a gradient to clear. */
typedef struct {
    float *g;
    size_t count;
} clear_job;

static void clear_task(void *p, int task, int thread)
{
    const clear_job *job = p;
    size_t first, last;
    (void)thread;
    nn_split_size(job->count, NN_CHUNKS, task, &first, &last);
    memset(job->g + first, 0, (last - first) * sizeof(float));
}

/* t->g = 0, cut into NN_CHUNKS pieces. */
static void clear_grad(const nn_tensor *t, const nn_exec *ex)
{
    clear_job job = {t->g, nn_tensor_count(t)};
    nn_pool_run(ex->pool, NN_CHUNKS, clear_task, &job);
}

nn_status nn_net_backward(nn_net *net)
{
    nn_exec ex;
    if (!net)
        return NN_EINVAL;
    if (!net->built || net->batch == 0)
        return NN_ESTATE;
    ex = exec_for(net);
    for (int i = net->count - 1; i >= 0; i--) {
        nn_tensor in = net->tensors[i];
        if (i == 0 && !net->input_grad)
            in.g = NULL;
        /* Layers add into their input's gradient: it starts from zero,
         * cleared just before (in parallel, while the cache is warm). */
        if (in.g)
            clear_grad(&in, &ex);
        net->layers[i]->ops->backward(net->layers[i], &in,
                                      &net->tensors[i + 1], &ex);
    }
    return NN_OK;
}

void nn_net_zero_grad(nn_net *net)
{
    if (net && net->built)
        memset(net->grads, 0, net->n_params * sizeof(float));
}

/* The output as (batch, classes) rows for a loss, once a forward pass has
 * run, with its gradient cleared for the loss to fill. */
static nn_status loss_output(nn_net *net, const void *target, const float *loss,
                             nn_tensor **out, int *rows, int *classes)
{
    if (!net || !target || !loss)
        return NN_EINVAL;
    if (!net->built || net->batch == 0)
        return NN_ESTATE;
    *out = &net->tensors[net->count];
    *rows = (*out)->n;
    *classes = (*out)->c * (*out)->h * (*out)->w;
    memset((*out)->g, 0, (size_t)*rows * *classes * sizeof(float));
    return NN_OK;
}

nn_status nn_net_softmax_xent(nn_net *net, const int *labels, float *loss)
{
    int rows, classes;
    nn_tensor *out;
    nn_status st = loss_output(net, labels, loss, &out, &rows, &classes);
    if (st == NN_OK)
        st = nn_softmax_xent_forward(out->x, labels, net->probs, rows, classes, loss);
    if (st == NN_OK)
        nn_softmax_xent_backward(net->probs, labels, out->g, rows, classes);
    return st;
}

nn_status nn_net_mse(nn_net *net, const float *target, float *loss)
{
    int rows, classes;
    nn_tensor *out;
    nn_status st = loss_output(net, target, loss, &out, &rows, &classes);
    if (st == NN_OK)
        st = nn_mse_forward(out->x, target, rows, classes, loss);
    if (st == NN_OK)
        nn_mse_backward(out->x, target, out->g, rows, classes);
    return st;
}

const float *nn_net_probs(const nn_net *net)
{
    return net && net->built ? net->probs : NULL;
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
    out->kind = layer->ops->name;
    out->out_c = layer->out_c;
    out->out_h = layer->out_h;
    out->out_w = layer->out_w;
    out->params = layer->sizes.params;
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

nn_status nn_net_layer_state(nn_net *net, int i, float **values,
                             size_t *count)
{
    if (!net || i < 0 || i >= net->count || !values || !count)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    *values = net->layers[i]->state;
    *count = net->layers[i]->sizes.state;
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
        len = layer->ops->describe(layer, buf + used, size - used);
        if (len < 0 || (size_t)len >= size - used) {
            buf[used] = '\0';
            return NN_EOVERFLOW;
        }
        used += (size_t)len;
    }
    return NN_OK;
}

/* Calls step on every layer's parameters as two groups: the weights that
 * weight decay applies to, then the rest (biases, batchnorm scale and shift)
 * which are decayed only when decay_all is set. */
typedef void (*group_step)(const void *opt, float *w, const float *g,
                           float *v, float *m2, size_t n, float decay,
                           long t);

static nn_status step_groups(nn_net *net, const void *opt, float decay,
                             int decay_all, group_step step)
{
    if (!net || !opt)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    net->steps++;
    for (int i = 0; i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        size_t off = (size_t)(layer->params - net->params);
        size_t n = layer->sizes.params;
        size_t decayed = decay_all ? n : layer->sizes.decayed;
        step(opt, net->params + off, net->grads + off, net->velocity + off,
             net->moment2 + off, decayed, decay, net->steps);
        off += decayed;
        step(opt, net->params + off, net->grads + off, net->velocity + off,
             net->moment2 + off, n - decayed, 0.0f, net->steps);
    }
    return NN_OK;
}

static void sgd_group(const void *opt, float *w, const float *g, float *v,
                      float *m2, size_t n, float decay, long t)
{
    (void)m2;
    (void)t;
    nn_sgd_update(opt, w, g, v, n, decay);
}

static void adam_group(const void *opt, float *w, const float *g, float *v,
                       float *m2, size_t n, float decay, long t)
{
    nn_adam_update(opt, w, g, v, m2, n, decay, t);
}

nn_status nn_net_sgd_step(nn_net *net, const nn_sgd *opt)
{
    return step_groups(net, opt, opt ? opt->weight_decay : 0.0f,
                       opt && opt->decay_all, sgd_group);
}

nn_status nn_net_adam_step(nn_net *net, const nn_adam *opt)
{
    return step_groups(net, opt, opt ? opt->weight_decay : 0.0f,
                       opt && opt->decay_all, adam_group);
}

float *nn_net_velocity(nn_net *net)
{
    return net ? net->velocity : NULL;
}

float *nn_net_moment2(nn_net *net)
{
    return net ? net->moment2 : NULL;
}

long *nn_net_step_count(nn_net *net)
{
    return net ? &net->steps : NULL;
}
