/* Building a net: every layer is shaped and asked for its sizes, then one
 * allocation per arena (parameters, gradients, state, caches, activations,
 * scratch) is carved into views, and the weights are initialised. */
#include "net/net_internal.h"

#include <stdint.h>
#include <stdio.h>
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

size_t nn_arena_piece(size_t bytes)
{
    if (bytes > SIZE_MAX - NN_ALIGN)
        return 0;
    return (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

void *nn_arena_take(nn_arena *arena, size_t bytes)
{
    size_t piece = nn_arena_piece(bytes ? bytes : 1);
    unsigned char *p;
    if (!arena->base || piece == 0 || piece > arena->size - arena->used)
        return NULL;
    p = arena->base + arena->used;
    arena->used += piece;
    memset(p, 0, piece);
    return p;
}

void nn_net_free_arenas(nn_net *net)
{
    if (!net->arena.base) {
        free(net->params);
        free(net->grads);
        free(net->state);
        free(net->cache);
        free(net->acts);
        free(net->act_grads);
        free(net->scratch);
        free(net->partials);
        free(net->probs);
        free(net->tensors);
        free(net->stage);
        free(net->folded);
    }
    net->params = net->grads = net->state = net->acts = net->act_grads = NULL;
    net->scratch = net->partials = net->probs = net->stage = NULL;
    net->cache = NULL;
    net->tensors = NULL;
    net->folded = NULL;
}

int nn_net_partial_count(int shards)
{
    return shards * nn_shard_pieces(shards);
}

/* Sums of every layer's needs, with overflow checks. */
typedef struct {
    size_t params, state, cache, scratch, acts, classes, partials, stage;
    size_t grads; /* floats of the activations' gradients, slots shared */
    size_t values; /* floats of their values: acts, or for inference
                      slots shared */
    size_t folded; /* floats of the folded parameters (inference) */
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

void nn_net_tensor_shape(const nn_net *net, int t, int shape[3])
{
    const nn_layer *layer = t > 0 ? net->layers[t - 1] : NULL;
    shape[0] = layer ? layer->out_c : net->in_c;
    shape[1] = layer ? layer->out_h : net->in_h;
    shape[2] = layer ? layer->out_w : net->in_w;
}

/* "16x32x32 (layer 3 'a') and 32x16x16 (layer 6)": layer i's input
 * shapes, for a message. */
static void describe_inputs(const nn_net *net, const nn_layer *layer,
                            char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < layer->inputs && used < size; k++) {
        const int *s = layer->in_shape[k];
        int t = layer->reads[k], len;
        const char *name = t > 0 ? net->layers[t - 1]->name : "";
        char source[48];
        if (t == 0)
            snprintf(source, sizeof source, "the input");
        else
            snprintf(source, sizeof source, "layer %d%s%s%s", t - 1,
                     name[0] ? " '" : "", name, name[0] ? "'" : "");
        len = snprintf(buf + used, size - used, "%s%dx%dx%d from %s",
                       k == 0 ? "" : k + 1 == layer->inputs ? " and " : ", ",
                       s[0], s[1], s[2], source);
        if (len < 0)
            return;
        used += (size_t)len;
    }
}

/* Shapes layer i from the outputs it reads; the reason in net->why when
 * they do not fit it. */
static nn_status shape_layer(nn_net *net, int i)
{
    nn_layer *layer = net->layers[i];
    char inputs[200], token[40];
    nn_status st;
    for (int k = 0; k < layer->inputs; k++)
        nn_net_tensor_shape(net, layer->reads[k], layer->in_shape[k]);
    layer->in_c = layer->in_shape[0][0];
    layer->in_h = layer->in_shape[0][1];
    layer->in_w = layer->in_shape[0][2];
    st = layer->kind->ops.reshape(layer);
    if (st == NN_OK)
        return NN_OK;
    describe_inputs(net, layer, inputs, sizeof inputs);
    nn_layer_print(layer, token, sizeof token);
    if (layer->inputs == 1 && layer->args.kh > 0 &&
        (layer->args.kh > layer->in_h + 2 * layer->args.pad ||
         layer->args.kw > layer->in_w + 2 * layer->args.pad))
        snprintf(net->why, sizeof net->why, "layer %d '%s': its input "
                 "%dx%dx%d is smaller than the window %dx%d%s", i, token,
                 layer->in_c, layer->in_h, layer->in_w, layer->args.kh,
                 layer->args.kw, layer->args.pad ? " with its padding" : "");
    else
        snprintf(net->why, sizeof net->why, "layer %d '%s' cannot take %s "
                 "%s (channels x height x width)%s", i, token,
                 layer->inputs > 1 ? "its inputs" : "its input", inputs,
                 layer->inputs == 1 ? ""
                 : layer->kind == &nn_kind_concat ? ": concat needs one "
                                                    "height and width"
                                                  : ": add needs one shape");
    return st;
}

/* Which layers read each output first and last; NN_ESHAPE (and why) when an output
 * other than the net's is never read. */
static nn_status find_readers(nn_net *net)
{
    net->input_last_reader = -1;
    for (int i = 0; i < net->count; i++)
        net->layers[i]->first_reader = net->layers[i]->last_reader = -1;
    for (int i = 0; i < net->count; i++)
        for (int k = 0; k < net->layers[i]->inputs; k++) {
            int t = net->layers[i]->reads[k];
            nn_layer *maker = t > 0 ? net->layers[t - 1] : NULL;
            *(maker ? &maker->last_reader : &net->input_last_reader) = i;
            if (maker && maker->first_reader < 0)
                maker->first_reader = i;
        }
    for (int i = 0; i + 1 < net->count; i++)
        if (net->layers[i]->last_reader < 0) {
            snprintf(net->why, sizeof net->why, "the output of layer %d (%s) "
                     "is never read: only the last layer's may be unread", i,
                     net->layers[i]->kind->name);
            return NN_ESHAPE;
        }
    return NN_OK;
}

/* Whether layer i writes its input gradient (NN_KIND_SETS_INPUT_GRAD) into
 * a tensor that a later layer has already added to: then it writes into
 * the net's stage, which is added after. */
int nn_net_stages(const nn_net *net, int i)
{
    const nn_layer *layer = net->layers[i];
    return (layer->kind->flags & NN_KIND_SETS_INPUT_GRAD) &&
           nn_net_last_reader(net, layer->reads[0]) != i;
}

int nn_net_last_reader(const nn_net *net, int t)
{
    return t == 0 ? net->input_last_reader : net->layers[t - 1]->last_reader;
}

/* Floats of tensor t's values or gradient for max_batch samples, rounded
 * to 64 bytes. */
static size_t tensor_floats(const nn_net *net, int t, int max_batch)
{
    int shape[3];
    nn_net_tensor_shape(net, t, shape);
    return ((size_t)shape[0] * shape[1] * shape[2] * (size_t)max_batch + 15) /
           16 * 16;
}

/* Whether slot j's tensor is still needed when layer i runs: when
 * gradients are placed (backward order) until its maker, layer
 * slot_tensor - 1, has run; when values are placed (forward order) until
 * its last reader has. */
static int slot_busy(const nn_net *net, int j, int i, int values)
{
    int t = net->layers[j]->slot_tensor;
    const nn_layer *maker = net->layers[t - 1];
    /* a relu fused into the layer before it in training: that layer
     * reads the relu's output gradient, so it lives until that layer ran */
    int last_use = !values && maker->folded_into >= 0 ? maker->folded_into
                                                      : t - 1;
    return values ? maker->last_reader >= i : last_use <= i;
}

/* Puts tensor t (floats of it) in a free slot as layer i runs, the
 * smallest free one that fits, else the largest free one grown, else a
 * new one, and records it in the maker's grad_slot. Slot j's bookkeeping
 * lives in layers[j], so planning allocates nothing. */
static void place_in_slot(nn_net *net, int t, size_t floats, int i,
                          int values, int *slots)
{
    int best = -1, widest = -1;
    for (int j = 0; j < *slots; j++) {
        const nn_layer *slot = net->layers[j];
        if (slot_busy(net, j, i, values))
            continue;
        if (slot->slot_floats >= floats &&
            (best < 0 || slot->slot_floats < net->layers[best]->slot_floats))
            best = j;
        if (widest < 0 || slot->slot_floats > net->layers[widest]->slot_floats)
            widest = j;
    }
    if (best < 0 && widest >= 0)
        best = widest;
    if (best < 0) {
        best = (*slots)++;
        net->layers[best]->slot_floats = 0;
    }
    if (net->layers[best]->slot_floats < floats)
        net->layers[best]->slot_floats = floats;
    net->layers[best]->slot_tensor = t;
    net->layers[t - 1]->grad_slot = best;
}

/* Lays the input's place, slots [0, slots) and the output's place out one
 * after another: each layer's output at layer->slot_place (floats), the
 * total in *total. */
static nn_status lay_out_slots(nn_net *net, int slots, int max_batch,
                               size_t *total)
{
    int last = net->count - 1;
    size_t at = tensor_floats(net, 0, max_batch);
    for (int j = 0; j < slots; j++) {
        net->layers[j]->slot_at = at;
        if (!add_size(&at, net->layers[j]->slot_floats))
            return NN_EOVERFLOW;
    }
    for (int i = 0; i < last; i++)
        net->layers[i]->slot_place = net->layers[net->layers[i]->grad_slot]->slot_at;
    net->layers[last]->slot_place = at;
    if (!add_size(&at, tensor_floats(net, net->count, max_batch)))
        return NN_EOVERFLOW;
    *total = at;
    return NN_OK;
}

/* Places the gradients of the activations in one arena, sharing memory
 * between outputs whose gradients are never needed at the same time, into
 * layer->grad_at and *total (floats). The backward pass visits layers from
 * the last: tensor t's gradient is first written by its last reader and
 * last read by the layer that made it (t - 1), so it lives while layers
 * last_reader(t) down to t - 1 run. Tensors are placed as they come alive
 * (place_in_slot; a slot is free once its tensor's maker has run,
 * strictly before this tensor's first writer). The input's and the
 * output's gradients have slots of their own (callers read them; a second
 * backward pass starts again from the output's). */
static nn_status place_grads(nn_net *net, int max_batch, size_t *total)
{
    int slots = 0, last = net->count - 1;
    for (int i = last; i >= 0; i--) {
        const nn_layer *reader = net->layers[i];
        for (int k = 0; k < reader->inputs; k++) {
            int t = reader->reads[k];
            if (t == 0 || net->layers[t - 1]->last_reader != i ||
                net->layers[t - 1]->grad_slot >= 0)
                continue; /* the input, not yet alive, or placed */
            place_in_slot(net, t, tensor_floats(net, t, max_batch), i, 0, &slots);
        }
    }
    /* the input's slot first, then the shared ones, then the output's */
    if (lay_out_slots(net, slots, max_batch, total) != NN_OK)
        return NN_EOVERFLOW;
    for (int i = 0; i <= last; i++)
        net->layers[i]->grad_at = net->layers[i]->slot_place;
    return NN_OK;
}

/* Places the values of the activations of a net built for inference the
 * same way, into layer->value_at and *total (floats): tensor t is written
 * by layer t - 1 and last read by its last reader, so it lives while
 * layers t - 1 to last_reader(t) run; a slot is free for it once its
 * tensor's last reader has run, strictly before layer t - 1 (a layer
 * never writes over what it reads). The input and the output have places
 * of their own (callers write and read them). */
static nn_status place_values(nn_net *net, int max_batch, size_t *total)
{
    int slots = 0, last = net->count - 1;
    for (int i = 0; i < last; i++) {
        int writer = net->layers[i]->folded_into;
        place_in_slot(net, i + 1, tensor_floats(net, i + 1, max_batch),
                      writer >= 0 ? writer : i, 1, &slots);
    }
    if (lay_out_slots(net, slots, max_batch, total) != NN_OK)
        return NN_EOVERFLOW;
    for (int i = 0; i <= last; i++)
        net->layers[i]->value_at = net->layers[i]->slot_place;
    return NN_OK;
}

/* In a net built for training, which layers apply the relu after them
 * (NN_KIND_FUSES_RELU_TRAINING: batchnorm, add, convolution) when that relu
 * is the only reader of their output and reads nothing else (and, for a
 * kind that masks the relu's gradient in place, is not the last layer):
 * layer i then gets relu_to = i + 1 and the relu folded_into = i; whether
 * a pass applies it is decided as it runs (layer->relu_applied, net_run.c).
 * The relu's output gradient then lives until layer i's backward
 * (slot_busy). */
static void plan_training_relus(nn_net *net)
{
    for (int i = 0; i + 1 < net->count; i++) {
        nn_layer *layer = net->layers[i], *relu = net->layers[i + 1];
        if (!(layer->kind->flags & NN_KIND_FUSES_RELU_TRAINING) ||
            !(relu->kind->flags & NN_KIND_RELU) || relu->inputs != 1 ||
            relu->reads[0] != i + 1 || layer->first_reader != i + 1 ||
            layer->last_reader != i + 1 || relu->folded_into >= 0 ||
            ((layer->kind->flags & NN_KIND_MASKS_IN_PLACE) &&
             i + 2 == net->count))
            continue;
        layer->relu_to = i + 1;
        relu->folded_into = i;
    }
}

/* In a net built for inference, which layers fold the next one (a
 * per-channel map: batchnorm) into their parameters: layer i when its
 * kind can fold, its output is read by layer i + 1 alone, which reads
 * nothing else and is such a map. Layer i then writes layer i + 1's output
 * and i + 1 does not run. Adds the folded copies' floats to *folded. Then
 * which apply the relu after them (or after the layer folded into them)
 * themselves, when it alone reads that output: they write its output, and
 * it does not run either. */
static nn_status plan_folds(nn_net *net, int training, size_t *folded)
{
    for (int i = 0; i < net->count; i++)
        net->layers[i]->fold_to = net->layers[i]->folded_into =
            net->layers[i]->relu_to = -1;
    for (int i = 0; i < net->count; i++)
        net->layers[i]->relu_applied = 0;
    if (training)
        plan_training_relus(net);
    for (int i = 0; !training && i + 1 < net->count; i++) {
        nn_layer *layer = net->layers[i], *next = net->layers[i + 1];
        if (!layer->kind->ops.fold || layer->folded_into >= 0 ||
            layer->first_reader != i + 1 || layer->last_reader != i + 1 ||
            !next->kind->ops.channel_affine || next->inputs != 1 ||
            next->in_c != layer->out_c)
            continue;
        layer->fold_to = i + 1;
        next->folded_into = i;
        if (!add_size(folded, layer->sizes.params))
            return NN_EOVERFLOW;
    }
    for (int i = 0; !training && i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        int last = layer->fold_to >= 0 ? layer->fold_to : i; /* writes its output */
        nn_layer *relu = last + 1 < net->count ? net->layers[last + 1] : NULL;
        if (!(layer->kind->flags & NN_KIND_FUSES_RELU) || !relu ||
            layer->folded_into >= 0 || !(relu->kind->flags & NN_KIND_RELU) ||
            relu->inputs != 1 || net->layers[last]->first_reader != last + 1 ||
            net->layers[last]->last_reader != last + 1)
            continue;
        layer->relu_to = last + 1;
        relu->folded_into = i;
    }
    return NN_OK;
}

/* Shapes every layer and adds up what the net must allocate, for
 * training or (training 0) for inference only. */
static nn_status plan(nn_net *net, int max_batch, int training, net_totals *t)
{
    size_t per_sample = (size_t)net->in_c * net->in_h * net->in_w, act;
    nn_status st;
    memset(t, 0, sizeof *t);
    net->why[0] = '\0';
    if (!nn_mul_size(per_sample, (size_t)max_batch, &act) || !add_size(&t->acts, act))
        return NN_EOVERFLOW;
    if ((st = find_readers(net)) != NN_OK)
        return st;
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        if ((st = shape_layer(net, i)) != NN_OK)
            return st;
        if (!nn_mul_size((size_t)layer->out_c * layer->out_h,
                         (size_t)layer->out_w, &per_sample) ||
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
        if (nn_net_stages(net, i)) {
            size_t in = (size_t)layer->in_c * layer->in_h * layer->in_w *
                        (size_t)max_batch; /* fits: an earlier act did */
            if (in > t->stage)
                t->stage = in;
        }
    }
    t->classes = per_sample;
    if ((st = plan_folds(net, training, &t->folded)) != NN_OK)
        return st;
    for (int i = 0; i < net->count; i++)
        net->layers[i]->grad_slot = -1;
    if ((st = place_grads(net, max_batch, &t->grads)) != NN_OK)
        return st;
    t->values = t->acts;
    if (!training && (st = place_values(net, max_batch, &t->values)) != NN_OK)
        return st;
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
        st = plan(net, max_batch, 1, &t);
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
        st = plan(net, max_batch, train, &t);
    if (st != NN_OK)
        return st;
    {
        /* build()'s arenas below: floats per copy, copies */
        const size_t arenas[][2] = {
            {t.params, train ? 2 : 1},               /* params, grads */
            {t.state, 1},
            {t.cache / sizeof(float) + 1, 1},
            {t.values, 1},                           /* values */
            {t.grads, train ? 1 : 0},                /* their gradients */
            {(t.scratch + 15) / 16 * 16, (size_t)net->threads},
            {t.partials, train ? (size_t)nn_net_partial_count(net->shards) : 0},
            {t.stage, train ? 1 : 0},
            {t.classes, (size_t)max_batch},          /* probs */
            {t.folded, train ? 0 : 1},               /* folded params */
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
 * gradients only when the net is built for training, in the places
 * place_grads chose. */
static void wire(nn_net *net)
{
    size_t p = 0, s = 0, cache = 0, a = 0, folded = 0;
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
            layer->folded = layer->fold_to >= 0 ? net->folded + folded : NULL;
            layer->forward_params = layer->folded ? layer->folded : layer->params;
            if (layer->folded)
                folded += layer->sizes.params;
            p += layer->sizes.params;
            s += layer->sizes.state;
            cache += round_up(layer->sizes.cache);
            t[i].c = layer->out_c;
            t[i].h = layer->out_h;
            t[i].w = layer->out_w;
        }
        n = (size_t)net->max_batch * t[i].c * t[i].h * t[i].w;
        t[i].n = net->max_batch;
        t[i].x = net->acts + (!net->inference_only ? a
                              : i == 0 ? 0 : net->layers[i - 1]->value_at);
        t[i].g = !net->act_grads ? NULL
                 : i == 0 ? net->act_grads
                          : net->act_grads + net->layers[i - 1]->grad_at;
        a += n;
    }
}

/* n floats (at least one), 64-byte aligned and zeroed, from the net's
 * buffer or the heap; NULL on failure. */
static float *net_floats(nn_net *net, size_t n)
{
    size_t bytes;
    if (!net->arena.base)
        return nn_alloc_floats(n);
    return nn_mul_size(n ? n : 1, sizeof(float), &bytes)
           ? nn_arena_take(&net->arena, bytes) : NULL;
}

/* buildable(), then plan() for training or inference, with build()'s own
 * limit. */
static nn_status plan_build(nn_net *net, int max_batch, int training,
                            net_totals *t)
{
    nn_status st = buildable(net, max_batch);
    if (st != NN_OK)
        return st;
    st = plan(net, max_batch, training, t);
    return st == NN_OK && t->classes > INT32_MAX ? NN_EOVERFLOW : st;
}

/* Floats of build()'s arenas of a net built for inference, in
 * nn_net_infer_bytes's order; the tensors come on top. */
enum { INFERENCE_ARENAS = 7 };
static void inference_arenas(const nn_net *net, const net_totals *t,
                             int max_batch, size_t floats[INFERENCE_ARENAS])
{
    floats[0] = t->params;
    floats[1] = t->state;
    floats[2] = t->cache / sizeof(float) + 1;
    floats[3] = t->values;
    floats[4] = (t->scratch + 15) / 16 * 16 * (size_t)net->threads;
    floats[5] = t->classes * (size_t)max_batch;
    floats[6] = t->folded;
}

nn_status nn_net_infer_bytes(nn_net *net, int max_batch, size_t *bytes)
{
    net_totals t;
    size_t floats[INFERENCE_ARENAS], total = 0, piece;
    nn_status st = plan_build(net, max_batch, 0, &t);
    if (st != NN_OK)
        return st;
    inference_arenas(net, &t, max_batch, floats);
    for (int i = 0; i < INFERENCE_ARENAS; i++)
        if (!nn_mul_size(floats[i] ? floats[i] : 1, sizeof(float), &piece) ||
            !(piece = nn_arena_piece(piece)) || !add_size(&total, piece))
            return NN_EOVERFLOW;
    piece = nn_arena_piece(((size_t)net->count + 1) * sizeof(nn_tensor));
    if (!add_size(&total, piece))
        return NN_EOVERFLOW;
    *bytes = total;
    return NN_OK;
}

/* Allocates the arenas (from the net's buffer when it has one: inference
 * only): for training also gradients of the parameters and of every
 * activation, and the partial sums of parameter gradients. */
static nn_status build(nn_net *net, int max_batch, uint64_t seed,
                       int inference_only)
{
    net_totals t;
    size_t floats[INFERENCE_ARENAS];
    int train = !inference_only;
    nn_status st = buildable(net, max_batch);
    if (st != NN_OK)
        return st;
    if (net->arena.base && train)
        return NN_ESTATE;
    if ((st = plan_build(net, max_batch, train, &t)) != NN_OK)
        return net->error = st;
    net->n_params = t.params;
    net->n_state = t.state;
    net->max_batch = max_batch;
    net->inference_only = inference_only;
    inference_arenas(net, &t, max_batch, floats);
    net->params = net_floats(net, floats[0]);
    net->grads = train ? nn_alloc_floats(t.params) : NULL;
    net->state = net_floats(net, floats[1]);
    net->cache = (unsigned char *)net_floats(net, floats[2]);
    net->acts = net_floats(net, floats[3]);
    net->act_grads = train ? nn_alloc_floats(t.grads) : NULL;
    net->scratch_stride = (t.scratch + 15) / 16 * 16; /* 64-byte aligned */
    net->scratch = net_floats(net, floats[4]);
    net->partials_stride = t.partials;
    net->partials = train ? nn_alloc_floats(t.partials *
                                            (size_t)nn_net_partial_count(net->shards) + 1)
                          : NULL;
    net->probs = net_floats(net, floats[5]);
    net->n_folded = t.folded;
    net->folded = net_floats(net, floats[6]);
    net->tensors = net->arena.base
                   ? nn_arena_take(&net->arena, ((size_t)net->count + 1) *
                                                    sizeof *net->tensors)
                   : calloc((size_t)net->count + 1, sizeof *net->tensors);
    net->stage_floats = train ? t.stage : 0;
    net->stage = net->stage_floats ? nn_alloc_floats(net->stage_floats) : NULL;
    if (!net->params || (train && (!net->grads || !net->partials)) ||
        (net->stage_floats && !net->stage) ||
        !net->state || !net->cache || !net->acts || !net->scratch ||
        (train && !net->act_grads) || !net->folded ||
        !net->probs || !net->tensors) {
        nn_net_free_arenas(net);
        return net->error = NN_ENOMEM;
    }
    wire(net);
    net->built = 1;
    net->prepared_version = 0;
    net->weights_version = 1;
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
 * reads its output, looking through transparent layers (batchnorm,
 * dropout, add); 0 (Xavier) when none follows. In a chain the reader is
 * the next layer; in a graph, the first layer that reads the output. */
static float activation_gain2(const nn_net *net, int i)
{
    for (int j = net->layers[i]->first_reader; j >= 0;
         j = net->layers[j]->first_reader) {
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
    net->weights_version++;
    net->noise_seed = seed;
    net->noise_pass = 0;
    net->batch = net->batch_total = 0;
    return NN_OK;
}
