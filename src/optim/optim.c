/* The optimizer object: a kind's update rule from the table below, its
 * settings, its state buffers and its step count, stepping over a built
 * net's flat parameters and gradients. Adding an optimizer is one update
 * function (src/optim/optimizers.c) and one row here. */
#include "optim/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "core/util.h"

/* Which settings a kind reads (for checks and for comparing checkpoints). */
enum {
    USES_MOMENTUM = 1,  /* momentum */
    USES_SGD = 2,       /* momentum_kind, nesterov */
    USES_BETAS = 4,     /* beta1, beta2 */
    USES_ALPHA = 8,     /* alpha */
    USES_EPS = 16       /* eps */
};

/* One optimizer: its update rule, state buffers, and PyTorch's defaults. */
typedef struct {
    const char *name;
    nn_optim_update_fn update;
    int buffers;        /* state buffers, each as large as the parameters */
    unsigned uses;      /* USES_* */
    float lr, weight_decay;
} optim_entry;

static const optim_entry optimizers[] = {
    [NN_OPTIM_SGD] = {"sgd", nn_sgd_update, 1, USES_MOMENTUM | USES_SGD,
                          0.01f, 0.0f},
    [NN_OPTIM_ADAM] = {"adam", nn_adam_update, 2, USES_BETAS | USES_EPS,
                           1e-3f, 0.0f},
    [NN_OPTIM_RMSPROP] = {"rmsprop", nn_rmsprop_update, 2,
                              USES_MOMENTUM | USES_ALPHA | USES_EPS, 0.01f,
                              0.0f},
    [NN_OPTIM_ADAMW] = {"adamw", nn_adamw_update, 2, USES_BETAS | USES_EPS,
                            1e-3f, 0.01f},
};

#define OPTIMIZERS ((int)(sizeof optimizers / sizeof optimizers[0]))

struct nn_optim {
    nn_optim_settings s;
    const optim_entry *entry;
    const nn_net *net;     /* the net it steps */
    size_t n;              /* parameters */
    float *state[NN_OPTIM_MAX_BUFFERS]; /* (n) each, entry->buffers of them */
    long steps;
    int layers;
    size_t *groups;        /* (layers, 2): parameters, and how many decayed */
};

static const optim_entry *entry_of(nn_optim_kind kind)
{
    return (int)kind >= 0 && (int)kind < OPTIMIZERS ? &optimizers[kind] : NULL;
}

const char *nn_optim_name(nn_optim_kind kind)
{
    const optim_entry *e = entry_of(kind);
    return e ? e->name : NULL;
}

int nn_optim_buffer_count(nn_optim_kind kind)
{
    const optim_entry *e = entry_of(kind);
    return e ? e->buffers : 0;
}

nn_status nn_optim_from_name(const char *name, nn_optim_kind *out)
{
    for (int k = 0; name && k < OPTIMIZERS; k++)
        if (!strcmp(name, optimizers[k].name)) {
            *out = (nn_optim_kind)k;
            return NN_OK;
        }
    return NN_EINVAL;
}

nn_optim_settings nn_optim_defaults(nn_optim_kind kind)
{
    const optim_entry *e = entry_of(kind);
    nn_optim_settings s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.lr = e ? e->lr : 0.0f;
    s.weight_decay = e ? e->weight_decay : 0.0f;
    s.beta1 = 0.9f;
    s.beta2 = 0.999f;
    s.alpha = 0.99f;
    s.eps = 1e-8f;
    return s;
}

/* 1 when v is finite and in [lo, hi). */
static int in_range(float v, float lo, float hi)
{
    return isfinite(v) && v >= lo && v < hi;
}

nn_status nn_optim_check(const nn_optim_settings *s)
{
    const optim_entry *e = s ? entry_of(s->kind) : NULL;
    if (!e || !in_range(s->lr, 0.0f, INFINITY) ||
        !in_range(s->weight_decay, 0.0f, INFINITY))
        return NN_EINVAL;
    if ((e->uses & USES_MOMENTUM) && !in_range(s->momentum, 0.0f, 1.0f))
        return NN_EINVAL;
    if ((e->uses & USES_SGD) && s->momentum_kind != NN_MOMENTUM_PYTORCH &&
        s->momentum_kind != NN_MOMENTUM_EMA)
        return NN_EINVAL;
    if ((e->uses & USES_BETAS) &&
        (!in_range(s->beta1, 0.0f, 1.0f) || !in_range(s->beta2, 0.0f, 1.0f)))
        return NN_EINVAL;
    if ((e->uses & USES_ALPHA) && !in_range(s->alpha, 0.0f, 1.0f))
        return NN_EINVAL;
    if ((e->uses & USES_EPS) && !in_range(s->eps, 0.0f, INFINITY))
        return NN_EINVAL;
    return NN_OK;
}

nn_status nn_optim_create(nn_net *net, const nn_optim_settings *s,
                          nn_optim **out)
{
    nn_optim *opt;
    size_t n = nn_net_param_count(net);
    int layers = nn_net_layer_count(net);
    nn_status st;
    if (!out)
        return NN_EINVAL;
    *out = NULL;
    if (!net || (st = nn_optim_check(s)) != NN_OK)
        return NN_EINVAL;
    if (!nn_net_grads(net))
        return NN_ESTATE; /* not built, or built for inference */
    opt = calloc(1, sizeof *opt);
    if (!opt)
        return NN_ENOMEM;
    opt->s = *s;
    opt->entry = entry_of(s->kind);
    opt->net = net;
    opt->n = n;
    opt->layers = layers;
    opt->groups = calloc((size_t)layers * 2 + 1, sizeof *opt->groups);
    st = opt->groups ? NN_OK : NN_ENOMEM;
    for (int b = 0; st == NN_OK && b < opt->entry->buffers; b++)
        if (!(opt->state[b] = calloc(n ? n : 1, sizeof(float))))
            st = NN_ENOMEM;
    for (int i = 0; st == NN_OK && i < layers; i++) {
        nn_layer_info info;
        st = nn_net_layer_info(net, i, &info);
        opt->groups[2 * i] = info.params;
        opt->groups[2 * i + 1] = info.decayed;
    }
    if (st != NN_OK) {
        nn_optim_destroy(opt);
        return st;
    }
    *out = opt;
    return NN_OK;
}

void nn_optim_destroy(nn_optim *opt)
{
    if (!opt)
        return;
    for (int b = 0; b < NN_OPTIM_MAX_BUFFERS; b++)
        free(opt->state[b]);
    free(opt->groups);
    free(opt);
}

/* The step is cut into pieces of OPTIM_PIECE values of the flat
 * parameters (the last one shorter), run on the net's threads. Each value's
 * update reads and writes only that value, so the pieces give the same bits
 * in any order, on any thread; small groups (biases) share a piece. */
#define OPTIM_PIECE 16384

typedef struct {
    nn_optim *opt;
    float *w;
    const float *g;
} optim_job;

/* Values [start, start + n) of the flat parameters: decayed by wd or not. */
static void optim_update(const optim_job *job, size_t start, size_t n,
                         float wd)
{
    nn_optim *opt = job->opt;
    float *state[NN_OPTIM_MAX_BUFFERS];
    for (int b = 0; b < NN_OPTIM_MAX_BUFFERS; b++)
        state[b] = opt->state[b] ? opt->state[b] + start : NULL;
    opt->entry->update(&opt->s, job->w + start, job->g + start, state, n, wd,
                       opt->steps);
}

/* Piece `task`: the part of each group inside it. Every layer's parameters
 * are two groups: the weights that weight decay applies to, then the rest
 * (biases, batchnorm scale and shift), decayed only with decay_all. */
static void optim_task(void *ctx, int task, int thread)
{
    const optim_job *job = ctx;
    const nn_optim *opt = job->opt;
    size_t first = (size_t)task * OPTIM_PIECE, last = first + OPTIM_PIECE;
    size_t off = 0;
    (void)thread;
    for (int i = 0; i < opt->layers && off < last; i++) {
        size_t n = opt->groups[2 * i];
        size_t decayed = opt->s.decay_all ? n : opt->groups[2 * i + 1];
        size_t bounds[3] = {off, off + decayed, off + n};
        for (int part = 0; part < 2; part++) {
            size_t lo = bounds[part] > first ? bounds[part] : first;
            size_t hi = bounds[part + 1] < last ? bounds[part + 1] : last;
            if (lo < hi)
                optim_update(job, lo, hi - lo,
                             part == 0 ? opt->s.weight_decay : 0.0f);
        }
        off += n;
    }
}

nn_status nn_optim_step(nn_optim *opt, nn_net *net)
{
    optim_job job;
    size_t pieces;
    if (!opt || !net)
        return NN_EINVAL;
    if (net != opt->net)
        return NN_ESTATE;
    job.opt = opt;
    job.w = nn_net_params(net);
    job.g = nn_net_grads(net);
    opt->steps++;
    pieces = (nn_net_param_count(net) + OPTIM_PIECE - 1) / OPTIM_PIECE;
    nn_pool_run(nn_net_pool(net), (int)pieces, optim_task, &job);
    /* new weights, new dropout masks: the next forward draws from the
     * next key (documented at nn_optim_step) */
    nn_net_next_noise(net);
    return NN_OK;
}

void nn_optim_set_lr(nn_optim *opt, float lr)
{
    if (opt)
        opt->s.lr = lr;
}

const nn_optim_settings *nn_optim_get_settings(const nn_optim *opt)
{
    return opt ? &opt->s : NULL;
}

long nn_optim_steps(const nn_optim *opt)
{
    return opt ? opt->steps : 0;
}

float *nn_optim_state(nn_optim *opt, int i, size_t *count)
{
    if (!opt || i < 0 || i >= opt->entry->buffers)
        return NULL;
    if (count)
        *count = opt->n;
    return opt->state[i];
}

void nn_optim_set_steps(nn_optim *opt, long steps)
{
    opt->steps = steps;
}

int nn_optim_differs(const nn_optim_settings *a, const nn_optim_settings *b,
                     char *why, size_t why_size)
{
    const optim_entry *e = entry_of(a->kind);
    if (a->kind != b->kind || !e) {
        char kinds[2][32];
        const nn_optim_kind both[2] = {a->kind, b->kind};
        for (int i = 0; i < 2; i++) /* a name, or the number it is not */
            if (nn_optim_name(both[i]))
                nn_format_msg(kinds[i], sizeof kinds[i], "%s",
                              nn_optim_name(both[i]));
            else
                nn_format_msg(kinds[i], sizeof kinds[i], "of unknown kind %d",
                              (int)both[i]);
        nn_format_msg(why, why_size, "optimizer %s, not %s", kinds[0],
                      kinds[1]);
        return 1;
    }
#define DIFFERS(use, field, fmt)                                             \
    if ((use) && a->field != b->field) {                                    \
        nn_format_msg(why, why_size, #field " " fmt ", not " fmt,           \
                      a->field, b->field);                                  \
        return 1;                                                           \
    }
    DIFFERS(1, weight_decay, "%g")
    DIFFERS(1, decay_all, "%d")
    DIFFERS(e->uses & USES_MOMENTUM, momentum, "%g")
    DIFFERS(e->uses & USES_SGD, momentum_kind, "%d")
    DIFFERS(e->uses & USES_SGD, nesterov, "%d")
    DIFFERS(e->uses & USES_BETAS, beta1, "%g")
    DIFFERS(e->uses & USES_BETAS, beta2, "%g")
    DIFFERS(e->uses & USES_ALPHA, alpha, "%g")
    DIFFERS(e->uses & USES_EPS, eps, "%g")
#undef DIFFERS
    return 0;
}
