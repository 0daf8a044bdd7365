/* Training-health diagnostics: the probe, the statistics and the warnings
 * (see diagnostics.h). */
#include "diagnostics.h"
#include "nn/advanced.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The thresholds of the warnings. */
#define CHANCE_SHARE 0.98     /* loss >= this share of ln(classes) ... */
#define FALLING_SHARE 0.01    /* ... and fell by less than this share of it */
#define VANISHING_RATIO 1e-2  /* first weighted layer's gradient / last's */
#define VANISHING_FLOOR 1e-7  /* every gradient norm below this */
#define EXPLODING_RATIO 1.0   /* weights moved more than their size ... */
#define EXPLODING_FIRST 10.0  /* ... or, in the epoch from the initial
                                 weights, ten times it */
#define EXPLODING_GRAD 1e4    /* a gradient norm above this */
#define DEAD_SHARE 0.5        /* most units of a layer dead */
#define DEAD_LAYERS 16        /* layers a run warns of dead units in, at most */
#define RISING_EPOCHS 3       /* test loss rising this many epochs */

/* Layers whose units can die: the only place that names layer kinds. */
static int relu_like(const nn_layer_info *info)
{
    return !strcmp(info->kind, "relu") || !strcmp(info->kind, "leakyrelu");
}

/* Values of layer i that the norms cover: its weights (the part weight
 * decay applies to) or, without such a part (batchnorm), every parameter. */
static size_t weight_count(const nn_layer_info *info)
{
    return info->decayed ? info->decayed : info->params;
}

static double norm(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return sqrt(s);
}

static double distance(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

int diag_init(diag_run *d, nn_net *net, const nn_dataset *train, int epochs)
{
    size_t channels = 1;
    memset(d, 0, sizeof *d);
    d->layers = nn_net_layer_count(net);
    d->epochs = epochs;
    /* the probe in chunks of the net's max batch, all of the same size */
    d->chunk = nn_net_max_batch(net) < DIAG_PROBE_IMAGES ? nn_net_max_batch(net)
                                                         : DIAG_PROBE_IMAGES;
    if (d->chunk > train->count)
        d->chunk = train->count;
    d->probe = d->chunk > 0 ? DIAG_PROBE_IMAGES / d->chunk * d->chunk : 0;
    if (d->probe > train->count / d->chunk * d->chunk)
        d->probe = train->count / d->chunk * d->chunk;
    for (int i = 0; i < d->layers; i++) {
        nn_layer_info info;
        if (nn_net_layer_info(net, i, &info) == NN_OK && relu_like(&info))
            channels += (size_t)info.out_c;
    }
    d->stats = calloc((size_t)epochs * (size_t)(d->layers + 1), sizeof *d->stats);
    d->known = calloc((size_t)epochs, 1);
    d->before = malloc(sizeof(float) * (nn_net_param_count(net) + 1));
    d->state = malloc(sizeof(float) * (nn_net_state_count(net) + 1));
    d->alive = malloc(channels);
    d->indices = malloc(sizeof(int) * (size_t)(d->probe + 1));
    d->labels = malloc(sizeof(int) * (size_t)(d->probe + 1));
    d->dead_said = calloc((size_t)d->layers + 1, 1);
    if (!d->stats || !d->known || !d->before || !d->state || !d->alive ||
        !d->indices || !d->labels || !d->dead_said) {
        diag_free(d);
        return 0;
    }
    for (int k = 0; k < d->probe; k++)
        d->indices[k] = k;
    return 1;
}

void diag_free(diag_run *d)
{
    free(d->stats);
    free(d->known);
    free(d->before);
    free(d->state);
    free(d->alive);
    free(d->indices);
    free(d->labels);
    free(d->dead_said);
    memset(d, 0, sizeof *d);
}

void diag_epoch_start(diag_run *d, nn_net *net)
{
    memcpy(d->before, nn_net_params(net), sizeof(float) * nn_net_param_count(net));
}

const diag_layer *diag_stats(const diag_run *d, int e, int i)
{
    if (!d || !d->stats || e < 0 || e >= d->epochs || i < 0 || i >= d->layers ||
        !d->known[e])
        return NULL;
    return &d->stats[(size_t)e * d->layers + i];
}

/* Marks the channels (dense: units) of out that are positive somewhere
 * in alive (out->c flags). */
static void mark_alive(unsigned char *alive, const nn_tensor *out)
{
    size_t plane = (size_t)out->h * out->w;
    for (int n = 0; n < out->n; n++)
        for (int c = 0; c < out->c; c++) {
            const float *x = out->x + ((size_t)n * out->c + c) * plane;
            for (size_t k = 0; k < plane && !alive[c]; k++)
                alive[c] = x[k] > 0;
        }
}

/* One forward and backward pass of the probe, chunk by chunk: parameter
 * gradients of the probe's mean loss (each chunk's batch mean, averaged),
 * and the relu channels seen positive in d->alive. */
static nn_status run_probe(diag_run *d, nn_net *net, const nn_dataset *train)
{
    int chunks = d->probe / d->chunk;
    float loss, *g = nn_net_grads(net);
    size_t params = nn_net_param_count(net);
    nn_status st = NN_OK;
    nn_net_zero_grad(net);
    for (int k = 0; k < chunks && st == NN_OK; k++) {
        unsigned char *alive = d->alive;
        st = nn_dataset_batch(train, d->indices + k * d->chunk, d->chunk,
                              nn_net_input(net)->x, d->labels);
        if (st == NN_OK)
            st = nn_net_forward(net, d->chunk);
        if (st == NN_OK)
            st = nn_net_softmax_xent(net, d->labels, &loss);
        if (st == NN_OK)
            st = nn_net_backward(net); /* accumulates */
        for (int i = 0; st == NN_OK && i < d->layers; i++) {
            nn_layer_info info;
            if (nn_net_layer_info(net, i, &info) != NN_OK || !relu_like(&info))
                continue;
            if (k == 0)
                memset(alive, 0, (size_t)info.out_c);
            mark_alive(alive, nn_net_layer_output(net, i));
            alive += info.out_c;
        }
    }
    for (size_t i = 0; st == NN_OK && i < params; i++)
        g[i] /= (float)chunks;
    return st;
}

nn_status diag_epoch_end(diag_run *d, nn_net *net, const nn_dataset *train,
                         int epoch)
{
    int training = nn_net_training(net);
    uint64_t seed, pass;
    size_t state = nn_net_state_count(net);
    const unsigned char *alive = d->alive;
    nn_status st;
    if (epoch < 0 || epoch >= d->epochs || d->chunk < nn_net_min_batch(net))
        return NN_EINVAL;
    /* the probe must leave no trace: running statistics, noise counter */
    nn_net_noise(net, &seed, &pass);
    memcpy(d->state, nn_net_state(net), sizeof(float) * state);
    nn_net_set_training(net, 1);
    st = run_probe(d, net, train);
    for (int i = 0; st == NN_OK && i < d->layers; i++) {
        diag_layer *s = &d->stats[(size_t)epoch * d->layers + i];
        nn_layer_info info;
        float *w, *g;
        size_t count;
        s->weight_norm = s->grad_norm = s->update_ratio = s->dead = NAN;
        if (nn_net_layer_info(net, i, &info) != NN_OK ||
            nn_net_layer_params(net, i, &w, &g, &count) != NN_OK)
            continue;
        if (relu_like(&info)) {
            size_t dead = 0;
            for (int c = 0; c < info.out_c; c++)
                dead += !alive[c];
            s->dead = info.out_c ? (double)dead / info.out_c : 0;
            alive += info.out_c;
        }
        if (count && g) {
            size_t n = weight_count(&info);
            const float *old = d->before + (w - nn_net_params(net));
            double before = norm(old, n);
            s->weight_norm = norm(w, n);
            s->grad_norm = norm(g, n);
            s->update_ratio = before > 0 ? distance(w, old, n) / before : NAN;
        }
    }
    nn_net_zero_grad(net);
    memcpy(nn_net_state(net), d->state, sizeof(float) * state);
    nn_net_set_noise(net, seed, pass);
    nn_net_set_training(net, training);
    if (st == NN_OK)
        d->known[epoch] = 1;
    return st;
}

/* "relu", or "relu@b1" for a layer with a name (the spec's notation). */
static const char *layer_label(const nn_layer_info *info, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s", info->kind, info->name[0] ? "@" : "", info->name);
    return buf;
}

/* Adds a warning (once per bit of d->said; bit 0: no such limit) and
 * prints it. */
static int warn(diag_run *d, FILE *f, unsigned bit, int epoch, diag_kind kind,
                const char *fmt, ...)
{
    diag_warning *w;
    va_list ap;
    if ((d->said & bit) || d->warning_count == DIAG_MAX_WARNINGS)
        return 0;
    d->said |= bit;
    w = &d->warnings[d->warning_count++];
    w->epoch = epoch + 1;
    w->kind = kind;
    va_start(ap, fmt);
    vsnprintf(w->text, sizeof w->text, fmt, ap);
    va_end(ap);
    if (f) {
        fprintf(f, "warning: %s\n", w->text);
        fflush(f);
    }
    return 1;
}

/* Loss at chance level and not falling. */
static int check_chance(diag_run *d, const report_epoch *ep, int first,
                        int e, int classes, FILE *f)
{
    double chance = log(classes), loss = ep[e].train.train_loss;
    if (e < 1 || e - 1 < first || classes < 2 || !(loss >= CHANCE_SHARE * chance) ||
        ep[e - 1].train.train_loss - loss >= FALLING_SHARE * chance)
        return 0;
    return warn(d, f, 1u << DIAG_CHANCE, e, DIAG_CHANCE,
                "train loss %.4f after epoch %d is at chance level (ln(%d) = "
                "%.4f) and not falling (%.4f the epoch before): the net "
                "predicts no better than guessing. Causes: a learning rate "
                "far too high or too low, dead relus, vanishing gradients, "
                "a bad initialisation, unnormalised inputs. Try: --lr 0.01 "
                "(or 10 times the one you have if it is tiny), a model with "
                "bn after each convolution (--model deep-bn), --optimizer "
                "adam, relu instead of sigmoid.", loss, e + 1, classes,
                chance, ep[e - 1].train.train_loss);
}

/* Gradients that vanish on the way back, or explode. */
static int check_gradients(diag_run *d, nn_net *net, int e, FILE *f)
{
    int firstw = -1, lastw = -1, said = 0;
    double largest = 0, too_far = e == 0 ? EXPLODING_FIRST : EXPLODING_RATIO;
    for (int i = 0; i < d->layers; i++) {
        const diag_layer *s = diag_stats(d, e, i);
        nn_layer_info info;
        char label[NN_NAME_SIZE + 32];
        if (!s || isnan(s->grad_norm) || nn_net_layer_info(net, i, &info) != NN_OK ||
            !info.decayed)
            continue;
        if (firstw < 0)
            firstw = i;
        lastw = i;
        largest = fmax(largest, s->grad_norm);
        if (!(s->grad_norm <= EXPLODING_GRAD) || s->update_ratio > too_far)
            said += warn(d, f, 1u << DIAG_EXPLODING, e, DIAG_EXPLODING,
                         "exploding updates in epoch %d: the weights of layer "
                         "%d (%s) moved %.3g times their own size in the "
                         "epoch (|w_after - w_before| / |w_before|; above %g "
                         "is too much), gradient norm %.3g. Causes: a learning rate too high, no "
                         "normalisation, no warm-up. Try: a --lr 10 times "
                         "smaller, --warmup 2, bn after the weighted layers, "
                         "--optimizer adam.", e + 1, i,
                         layer_label(&info, label, sizeof label),
                         s->update_ratio, too_far, s->grad_norm);
    }
    if (firstw >= 0 && lastw > firstw) {
        double g0 = d->stats[(size_t)e * d->layers + firstw].grad_norm;
        double g1 = d->stats[(size_t)e * d->layers + lastw].grad_norm;
        if ((largest > 0 && largest < VANISHING_FLOOR) || g0 < VANISHING_RATIO * g1)
            said += warn(d, f, 1u << DIAG_VANISHING, e, DIAG_VANISHING,
                         "vanishing gradients after epoch %d: the first "
                         "weighted layer (%d) gets a gradient of norm %.3g, "
                         "the last (%d) %.3g: the first layers barely learn. "
                         "Causes: a deep stack of sigmoid or tanh layers, "
                         "dead relus, too small an initialisation. Try: relu "
                         "instead of sigmoid or tanh, bn after each weighted "
                         "layer, fewer layers, --optimizer adam.", e + 1,
                         firstw, g0, lastw, g1);
    }
    return said;
}

/* Layers whose units are mostly dead: one warning per layer, for
 * DEAD_LAYERS layers at most (whichever they are), so that the other
 * kinds keep room among the run's warnings. */
static int check_dead(diag_run *d, nn_net *net, int e, FILE *f)
{
    int said = 0, layers_said = 0;
    for (int i = 0; i < d->layers; i++)
        layers_said += d->dead_said[i];
    for (int i = 0; i < d->layers && layers_said < DEAD_LAYERS; i++) {
        const diag_layer *s = diag_stats(d, e, i);
        nn_layer_info info;
        char label[NN_NAME_SIZE + 32];
        if (!s || !(s->dead > DEAD_SHARE) || d->dead_said[i] ||
            nn_net_layer_info(net, i, &info) != NN_OK)
            continue;
        d->dead_said[i] = (unsigned char)warn(
            d, f, 0, e, DIAG_DEAD,
            "dead units after epoch %d: %.0f%% of layer %d's (%s) %s were "
            "never positive on %d training images: they pass no gradient and "
            "do not recover. Causes: a learning rate too high, large negative "
            "biases, a bad initialisation. Try: a smaller --lr, leakyrelu "
            "instead of relu, bn before the relu.", e + 1, 100 * s->dead, i,
            layer_label(&info, label, sizeof label),
            info.out_h * info.out_w > 1 ? "channels" : "units", d->probe);
        said += d->dead_said[i];
        layers_said += d->dead_said[i];
    }
    return said;
}

/* Test loss rising for RISING_EPOCHS epochs while the train loss falls. */
static int check_overfitting(diag_run *d, const report_epoch *ep, int first,
                             int e, FILE *f)
{
    int from = e - RISING_EPOCHS;
    if (from < first)
        return 0;
    for (int k = from + 1; k <= e; k++)
        if (!(ep[k].test_loss > ep[k - 1].test_loss) ||
            !(ep[k].train.train_loss < ep[k - 1].train.train_loss))
            return 0;
    return warn(d, f, 1u << DIAG_OVERFITTING, e, DIAG_OVERFITTING,
                "overfitting: the test loss rose for %d epochs (%.4f after "
                "epoch %d, %.4f after epoch %d) while the train loss fell "
                "(%.4f to %.4f). Try: fewer epochs (keep the model of the "
                "best epoch), more --weight-decay, dropout, augmentation, "
                "more data, a smaller model.", RISING_EPOCHS,
                ep[from].test_loss, from + 1, ep[e].test_loss, e + 1,
                ep[from].train.train_loss, ep[e].train.train_loss);
}

int diag_check(diag_run *d, nn_net *net, const report_epoch *epochs,
               int first, int epoch, int classes, FILE *f)
{
    return check_chance(d, epochs, first, epoch, classes, f) +
           check_gradients(d, net, epoch, f) + check_dead(d, net, epoch, f) +
           check_overfitting(d, epochs, first, epoch, f);
}
