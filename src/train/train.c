/* The training loop: shuffled minibatches, augmentation, the optimizer
 * step with a scheduled learning rate, and evaluation in inference mode. */
#include "nn.h"

#include "net/net.h"
#include "core/util.h"
#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

nn_train_config nn_train_defaults(void)
{
    nn_train_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.epochs = 10;
    cfg.batch = 64;
    cfg.seed = 1;
    cfg.optim = nn_optim_defaults(NN_OPTIM_SGD);
    cfg.optim.momentum = 0.9f;
    cfg.optim.weight_decay = 5e-4f;
    cfg.schedule.kind = NN_SCHEDULE_COSINE;
    cfg.schedule.lr = 0.05f;
    cfg.schedule.gamma = 0.1f;
    cfg.schedule.step_epochs = 5;
    cfg.schedule.total_epochs = cfg.epochs;
    return cfg;
}

static double now_seconds(void)
{
    return 1e-9 * (double)nn_clock_ns();
}

/* The dataset's samples must fit the net's input and its classes the
 * net's outputs. */
static nn_status check_fit(nn_net *net, const nn_dataset *d)
{
    int c, h, w;
    nn_tensor *out;
    if (!net || !d || !d->pixels || !d->labels || d->count <= 0)
        return NN_EINVAL;
    if (!nn_net_input(net))
        return NN_ESTATE;
    nn_net_input_shape(net, &c, &h, &w);
    if (c != d->c || h != d->h || w != d->w)
        return NN_ESHAPE;
    out = nn_net_output(net);
    if (out->c * out->h * out->w != d->classes)
        return NN_ESHAPE;
    return NN_OK;
}

/* Draws the augmentation of all n samples of a batch at `order`, in
 * order (a crop's dy and dx, then a flip), so that every process draws the
 * same numbers whatever shards it holds. */
static void draw_batch(const nn_train_config *cfg, const int *order, int n,
                       nn_sample_draw *draws, nn_rng *rng)
{
    for (int i = 0; i < n; i++) {
        nn_sample_draw *draw = &draws[i];
        *draw = (nn_sample_draw){.index = order[i]};
        if (cfg->augment_crop > 0) {
            uint32_t span = 2 * (uint32_t)cfg->augment_crop + 1;
            draw->dy = (int)nn_rng_below(rng, span) - cfg->augment_crop;
            draw->dx = (int)nn_rng_below(rng, span) - cfg->augment_crop;
        }
        if (cfg->augment_flip)
            draw->flip = (int)(nn_rng_next(rng) >> 63);
    }
}

/* Correct predictions among the first n rows of the output. */
static int count_correct(nn_net *net, const int *labels, int n)
{
    nn_tensor *out = nn_net_output(net);
    int classes = out->c * out->h * out->w, correct = 0;
    for (int i = 0; i < n; i++)
        correct += nn_argmax(out->x + (size_t)i * classes, classes) == labels[i];
    return correct;
}

/* Fisher-Yates shuffle of 0..n-1. */
static void shuffle(int *order, int n, nn_rng *rng)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)nn_rng_below(rng, (uint32_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* This process's shards of every batch: all of them alone, else its even
 * share (nn_shard_start) of the net's shards. */
typedef struct {
    const nn_group *group;
    int shards, first, last;
} own_shards;

static nn_status find_own_shards(nn_net *net, const nn_group *group,
                                 own_shards *p)
{
    p->group = group;
    p->shards = nn_net_shards(net);
    p->first = 0;
    p->last = p->shards;
    if (!group)
        return NN_OK;
    if (group->size < 1 || group->rank < 0 || group->rank >= group->size ||
        group->size > p->shards || !group->sum_float || !group->sum_double)
        return NN_EINVAL;
    p->first = nn_shard_start(p->shards, group->size, group->rank);
    p->last = nn_shard_start(p->shards, group->size, group->rank + 1);
    return NN_OK;
}

/* A loss this process found non-finite: its gradients become NaN, so that
 * every process sees a non-finite sum of gradients and stops at the same
 * step, after the same collective calls (backward still runs). */
static void poison_output_grad(nn_net *net)
{
    nn_tensor *out = nn_net_output(net);
    size_t count = nn_tensor_count(out);
    for (size_t i = 0; i < count; i++)
        out->g[i] = NAN;
}

/* One step on the batch of n images at `order`: this process's shards,
 * converted and augmented on the net's threads, through forward and
 * backward, the gradients summed across the group, then the optimizer's
 * update. */
static nn_status train_step(nn_net *net, nn_optim *opt,
                            const nn_dataset *train, const nn_train_config *cfg,
                            const own_shards *own, const int *order, int n,
                            nn_sample_draw *draws, int *labels, nn_rng *rng,
                            float *loss)
{
    nn_tensor *in = nn_net_input(net);
    int lo = nn_shard_start(n, own->shards, own->first);
    int hi = nn_shard_start(n, own->shards, own->last);
    nn_status st;
    draw_batch(cfg, order, n, draws, rng);
    st = hi > lo ? nn_dataset_batch_drawn(train, draws + lo, hi - lo,
                                          nn_net_pool(net), in->x, labels)
                 : NN_OK; /* no sample of a small batch */
    if (st != NN_OK)
        return st;
    if ((st = nn_net_forward_shards(net, n, own->first, own->last)) != NN_OK)
        return st;
    st = nn_net_softmax_xent(net, labels, loss);
    if (st == NN_ENUMERIC && own->group)
        poison_output_grad(net);
    else if (st != NN_OK)
        return st; /* a NaN loss alone stops here, before any update */
    nn_net_zero_grad(net);
    if ((st = nn_net_backward(net)) != NN_OK)
        return st;
    if (own->group &&
        (st = own->group->sum_float(own->group->ctx, nn_net_grads(net),
                                     nn_net_param_count(net))) != NN_OK)
        return st;
    /* One sum over the gradients: NaN or infinite when any is (or when
     * they overflow together, which is as bad); before the step. */
    if (!isfinite(nn_sum(nn_net_grads(net), nn_net_param_count(net))))
        return NN_ENUMERIC;
    return nn_optim_step(opt, net);
}

/* The epoch's loss sum, correct count and images, over the group. */
static nn_status epoch_totals(const own_shards *own, double *loss_sum,
                              long *correct, long *images)
{
    double v[3] = {*loss_sum, (double)*correct, (double)*images};
    nn_status st = own->group
                       ? own->group->sum_double(own->group->ctx, v, 3)
                       : NN_OK;
    *loss_sum = v[0];
    *correct = (long)v[1];
    *images = (long)v[2];
    return st;
}

nn_status nn_train_epoch(nn_net *net, nn_optim *opt, const nn_dataset *train,
                         const nn_train_config *cfg, int epoch, nn_rng *rng,
                         nn_epoch_stats *stats)
{
    nn_status st = check_fit(net, train);
    nn_sample_draw *draws;
    int *order, *labels, batches, min_batch;
    float lr = 0.0f;
    long correct = 0, images = 0, done = 0;
    double loss_sum = 0.0, start = now_seconds();
    nn_progress progress;
    own_shards own;
    if (st != NN_OK)
        return st;
    if (!opt || !cfg || !rng || !stats || epoch < 0 || cfg->batch <= 0 ||
        cfg->batch > nn_net_max_batch(net) || cfg->augment_crop < 0 ||
        cfg->augment_crop > 1024 ||
        find_own_shards(net, cfg->group, &own) != NN_OK)
        return NN_EINVAL;
    stats->message[0] = '\0';
    min_batch = nn_net_min_batch(net);
    /* Per-epoch buffers: nothing is allocated inside the batch loop. */
    order = malloc(sizeof *order * (size_t)train->count);
    labels = malloc(sizeof *labels * (size_t)cfg->batch);
    draws = malloc(sizeof *draws * (size_t)cfg->batch);
    if (!order || !labels || !draws) {
        st = NN_ENOMEM;
        goto done;
    }
    shuffle(order, train->count, rng);
    nn_net_set_training(net, 1);
    nn_net_set_group(net, cfg->group);
    batches = (train->count + cfg->batch - 1) / cfg->batch;
    progress.epoch = epoch;
    progress.epochs = cfg->epochs;
    progress.total = train->count;
    for (int b = 0; b < batches; b++) {
        int first = b * cfg->batch;
        int n = train->count - first < cfg->batch ? train->count - first : cfg->batch;
        int mine;
        float loss;
        if (n < min_batch)
            break; /* a last batch the net cannot train on (see nn.h) */
        lr = nn_schedule_lr(&cfg->schedule, epoch + (double)b / batches);
        nn_optim_set_lr(opt, lr);
        st = train_step(net, opt, train, cfg, &own, order + first, n, draws,
                        labels, rng, &loss);
        if (st != NN_OK)
            goto done;
        mine = nn_net_output(net)->n;
        images += mine;
        done += n;
        loss_sum += (double)loss * mine;
        correct += count_correct(net, labels, mine);
        if (cfg->on_batch) {
            progress.done = done;
            progress.loss = images ? loss_sum / images : 0.0;
            progress.seconds = now_seconds() - start;
            cfg->on_batch(cfg->user, &progress);
        }
    }
    if ((st = epoch_totals(&own, &loss_sum, &correct, &images)) != NN_OK)
        goto done;
    stats->epoch = epoch;
    stats->lr = lr;
    stats->images = images;
    stats->train_loss = images ? loss_sum / images : 0.0;
    stats->train_accuracy = images ? (double)correct / images : 0.0;
    stats->seconds = now_seconds() - start;
    stats->images_per_second =
        stats->seconds > 0 ? images / stats->seconds : 0.0;
done:
    if (st == NN_ENUMERIC)
        nn_net_check_finite(net, stats->message, sizeof stats->message);
    nn_net_set_group(net, NULL);
    free(order);
    free(labels);
    free(draws);
    return st;
}

nn_status nn_evaluate(nn_net *net, const nn_dataset *d, int *predicted,
                      double *loss, double *accuracy)
{
    nn_status st = check_fit(net, d);
    int max_batch, *labels, *order, classes, training;
    long correct = 0;
    double loss_sum = 0.0;
    nn_tensor *in, *out;
    if (st != NN_OK)
        return st;
    max_batch = nn_net_max_batch(net);
    labels = malloc(sizeof *labels * (size_t)max_batch);
    order = malloc(sizeof *order * (size_t)max_batch);
    if (!labels || !order) {
        free(labels);
        free(order);
        return NN_ENOMEM;
    }
    in = nn_net_input(net);
    training = nn_net_training(net);
    nn_net_set_training(net, 0);
    for (int first = 0; first < d->count; first += max_batch) {
        int n = d->count - first < max_batch ? d->count - first : max_batch;
        float batch_loss;
        for (int i = 0; i < n; i++)
            order[i] = first + i;
        st = nn_dataset_batch(d, order, n, in->x, labels);
        if (st != NN_OK ||
            (st = nn_net_forward(net, n)) != NN_OK ||
            (st = nn_net_softmax_xent(net, labels, &batch_loss)) != NN_OK)
            break;
        out = nn_net_output(net);
        classes = out->c * out->h * out->w;
        for (int i = 0; i < n; i++) {
            int p = nn_argmax(out->x + (size_t)i * classes, classes);
            correct += p == labels[i];
            if (predicted)
                predicted[first + i] = p;
        }
        loss_sum += (double)batch_loss * n;
    }
    nn_net_set_training(net, training);
    free(labels);
    free(order);
    if (st == NN_OK) {
        if (loss)
            *loss = loss_sum / d->count;
        if (accuracy)
            *accuracy = (double)correct / d->count;
    }
    return st;
}
