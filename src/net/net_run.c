/* Running a net: forward and backward passes over the layers, and the
 * losses that start the backward pass. Nothing here allocates. */
#include "net/net_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compute/gemm.h"
#include "core/util.h"

nn_tensor *nn_net_input(nn_net *net)
{
    return net && net->built ? &net->tensors[0] : NULL;
}

nn_tensor *nn_net_output(nn_net *net)
{
    return net && net->built ? &net->tensors[net->count] : NULL;
}

nn_tensor *nn_net_layer_output(nn_net *net, int i)
{
    return net && net->built && i >= 0 && i < net->count ? &net->tensors[i + 1]
                                                         : NULL;
}

/* The key of a pass's counter-based noise: the splitmix64 finaliser of
 * seed and pass, so that nearby seeds and passes give unrelated keys. */
static uint64_t noise_key(uint64_t seed, uint64_t pass)
{
    return nn_mix64(seed ^ (pass + 1) * NN_GOLDEN64);
}

int nn_net_runs_avx2(const nn_net *net)
{
    return net->kernels == NN_KERNELS_AUTO && nn_cpu_has_avx2();
}

/* What the layers get for one pass of the net. */
static nn_exec exec_for(nn_net *net)
{
    nn_exec ex;
    ex.scratch = net->scratch;
    ex.scratch_stride = net->scratch_stride;
    ex.partials = net->partials;
    ex.pool = net->pool;
    ex.training = net->training;
    ex.kernels = net->kernels;
    ex.avx2 = nn_net_runs_avx2(net);
    ex.inference = net->inference_only;
    ex.sgemm = nn_sgemm_for(net->kernels);
    ex.noise_key = noise_key(net->noise_seed, net->noise_pass);
    ex.batch = &net->pass;
    return ex;
}

/* Views of the tensors layer i reads, in its order; their gradients NULL
 * where none is kept (the net's input unless nn_net_set_input_grad). */
static void gather_inputs(const nn_net *net, int i, nn_tensor *in)
{
    const nn_layer *layer = net->layers[i];
    for (int k = 0; k < layer->inputs; k++) {
        in[k] = net->tensors[layer->reads[k]];
        if (layer->reads[k] == 0 && !net->input_grad)
            in[k].g = NULL;
    }
}

/* Records that the pass runs shards [first, last) of a batch of total
 * samples: where they start in the input, and what the layers see of it. */
static void set_shards(nn_net *net, int total, int first, int last)
{
    int start = nn_shard_start(total, net->shards, first);
    net->batch_total = total;
    net->shard_first = first;
    net->shard_last = last;
    for (int s = first; s <= last; s++)
        net->bounds[s - first] = nn_shard_start(total, net->shards, s) - start;
    net->pass = (nn_batch_shards){
        .shards = last - first,
        .bounds = net->bounds,
        .all_shards = net->shards,
        .total = total,
        .offset = start,
        .group = net->group,
        .group_error = &net->group_error,
    };
}

/* A net built for inference whose weights may have changed since it last
 * ran: folds each folded layer's map into its copy of the parameters, then
 * lets every layer make its kernels' forms of what it reads. */
static void prepare_inference(nn_net *net, const nn_exec *ex)
{
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        if (layer->fold_to >= 0)
            layer->kind->ops.fold(layer, net->layers[layer->fold_to],
                                  layer->folded);
    }
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        if (layer->folded_into < 0 && layer->kind->ops.prepare)
            layer->kind->ops.prepare(layer, ex);
    }
    net->prepared_version = net->weights_version;
}

/* Whether layers apply the relu planned after them (relu_to) in this
 * pass: always in a net built for inference; in one built for training in
 * training mode, except with the reference kernels (which run every layer
 * apart: the fused path is tested against them), and not in inference
 * mode, where callers may read every layer's output (calibration). */
static int fuses_relu(const nn_net *net)
{
    return net->inference_only ||
           (net->training && net->kernels != NN_KERNELS_REFERENCE);
}

/* Whether the last forward pass left layer's work to another layer: a
 * layer folded into the one before it, or a relu that layer applied. */
static int done_by_other(const nn_net *net, const nn_layer *layer)
{
    return layer->folded_into >= 0 &&
           (net->inference_only ||
            net->layers[layer->folded_into]->relu_applied);
}

/* The layer whose output layer i's forward writes, and whose output and
 * gradient its backward reads. */
static int written(const nn_layer *layer, int i)
{
    return layer->relu_applied  ? layer->relu_to
           : layer->fold_to >= 0 ? layer->fold_to
                                 : i;
}

nn_status nn_net_forward_shards(nn_net *net, int total, int first, int last)
{
    nn_exec ex;
    int batch;
    if (!net)
        return NN_EINVAL;
    if (!net->built)
        return NN_ESTATE;
    if (total <= 0 || first < 0 || last <= first || last > net->shards)
        return NN_EINVAL;
    batch = nn_shard_start(total, net->shards, last) -
            nn_shard_start(total, net->shards, first);
    if (batch < 0 || batch > net->max_batch)
        return NN_EINVAL; /* no sample (total < shards) is allowed */
    for (int i = 0; i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        nn_status st = layer->kind->ops.check_batch
                           ? layer->kind->ops.check_batch(layer, total, net->training)
                           : NN_OK;
        if (st != NN_OK)
            return st;
    }
    set_shards(net, total, first, last);
    net->group_error = NN_OK;
    ex = exec_for(net);
    for (int i = 0; i <= net->count; i++)
        net->tensors[i].n = batch;
    if (net->inference_only && net->prepared_version != net->weights_version)
        prepare_inference(net, &ex);
    for (int i = 0; i < net->count; i++) {
        nn_layer *layer = net->layers[i];
        nn_tensor in[NN_MAX_INPUTS];
        layer->relu_applied = layer->relu_to >= 0 && fuses_relu(net);
        if (done_by_other(net, layer))
            continue; /* done by the layer folded into */
        gather_inputs(net, i, in);
        layer->kind->ops.forward(layer, in,
                                 &net->tensors[written(layer, i) + 1], &ex);
    }
    net->batch = batch;
    return net->group_error;
}

nn_status nn_net_forward(nn_net *net, int batch)
{
    return nn_net_forward_shards(net, batch, 0, net ? net->shards : 1);
}

/* One of NN_PIECES slices of a gradient to clear, or of the stage to add
 * into it. */
typedef struct {
    float *g;
    const float *add; /* NULL: clear */
    size_t count;
} grad_job;

static void grad_task(void *p, int task, int thread)
{
    const grad_job *job = p;
    size_t first, last;
    (void)thread;
    nn_split_size(job->count, NN_PIECES, task, &first, &last);
    if (!job->add)
        memset(job->g + first, 0, (last - first) * sizeof(float));
    for (size_t i = first; job->add && i < last; i++)
        job->g[i] += job->add[i];
}

/* t->g = 0, or t->g += add, cut into NN_PIECES pieces. */
static void clear_or_add(const nn_tensor *t, const float *add,
                         const nn_exec *ex)
{
    grad_job job = {t->g, add, nn_tensor_count(t)};
    nn_pool_run(ex->pool, NN_PIECES, grad_task, &job);
}

/* Layer i's backward pass. An output read by several layers gets the sum
 * of their gradients: the last reader (whose backward runs first) starts
 * it, from zero unless it writes all of it anyway; the others add. A layer
 * that writes rather than adds, but is not the last reader, writes into
 * the stage, which is then added. */
static void backward_layer(nn_net *net, int i, const nn_exec *ex)
{
    nn_layer *layer = net->layers[i];
    nn_tensor in[NN_MAX_INPUTS];
    const nn_tensor *out = &net->tensors[written(layer, i) + 1];
    if (done_by_other(net, layer))
        return; /* a relu whose mask the layer before it applies */
    gather_inputs(net, i, in);
    if (in[0].g && nn_net_stages(net, i)) {
        nn_tensor staged = in[0];
        staged.g = net->stage;
        layer->kind->ops.backward(layer, &staged, out, ex);
        clear_or_add(&in[0], net->stage, ex);
        return;
    }
    for (int k = 0; k < layer->inputs; k++) {
        int t = layer->reads[k], seen = 0;
        for (int j = 0; j < k; j++)
            seen |= layer->reads[j] == t;
        /* cleared just before (in parallel, while the cache is warm) */
        if (in[k].g && nn_net_last_reader(net, t) == i && !seen &&
            !(layer->kind->flags & NN_KIND_SETS_INPUT_GRAD))
            clear_or_add(&in[k], NULL, ex);
    }
    layer->kind->ops.backward(layer, in, out, ex);
}

nn_status nn_net_backward(nn_net *net)
{
    nn_exec ex;
    if (!net)
        return NN_EINVAL;
    if (!net->built || net->batch_total == 0 || net->inference_only)
        return NN_ESTATE;
    net->group_error = NN_OK;
    ex = exec_for(net);
    for (int i = net->count - 1; i >= 0; i--)
        backward_layer(net, i, &ex);
    return net->group_error;
}

void nn_net_zero_grad(nn_net *net)
{
    if (net && net->built && net->grads)
        memset(net->grads, 0, net->n_params * sizeof(float));
}

/* The output as (batch, classes) rows for a loss, once a forward pass has
 * run. */
static nn_status loss_output(nn_net *net, const void *target, const float *loss,
                             nn_tensor **out, int *rows, int *classes)
{
    if (!net || !target || !loss)
        return NN_EINVAL;
    if (!net->built || net->batch_total == 0)
        return NN_ESTATE;
    *out = &net->tensors[net->count];
    *rows = (*out)->n;
    *classes = (*out)->c * (*out)->h * (*out)->w;
    return NN_OK;
}

/* Clears the output gradient for a loss to fill, once the loss is known
 * to be valid (a net built for inference has none: nothing to do). */
static int clear_output_grad(const nn_tensor *out, int rows, int classes)
{
    if (out->g)
        memset(out->g, 0, (size_t)rows * classes * sizeof(float));
    return out->g != NULL;
}

/* The loss is the mean over these shards' rows (0 for none); the gradient
 * is that of the mean over the whole batch (nn_net_forward_shards). */
nn_status nn_net_softmax_xent(nn_net *net, const int *labels, float *loss)
{
    int rows, classes;
    nn_tensor *out;
    nn_status st = loss_output(net, labels, loss, &out, &rows, &classes);
    if (st == NN_OK && rows == 0)
        *loss = 0.0f;
    else if (st == NN_OK)
        st = nn_softmax_xent_forward(out->x, labels, net->probs, rows, classes, loss);
    if (st == NN_OK && clear_output_grad(out, rows, classes))
        st = nn_softmax_xent_backward_of(net->probs, labels, out->g, rows,
                                         net->batch_total, classes);
    return st;
}

nn_status nn_net_mse(nn_net *net, const float *target, float *loss)
{
    int rows, classes;
    nn_tensor *out;
    nn_status st = loss_output(net, target, loss, &out, &rows, &classes);
    if (st == NN_OK && rows == 0)
        *loss = 0.0f;
    else if (st == NN_OK)
        st = nn_mse_forward(out->x, target, rows, classes, loss);
    if (st == NN_OK && clear_output_grad(out, rows, classes))
        nn_mse_backward_of(out->x, target, out->g, rows, net->batch_total,
                           classes);
    return st;
}

nn_status nn_net_softmax(nn_net *net)
{
    const nn_tensor *out;
    if (!net)
        return NN_EINVAL;
    if (!net->built || net->batch_total == 0)
        return NN_ESTATE;
    out = &net->tensors[net->count];
    nn_softmax_rows(out->x, net->probs, out->n, out->c * out->h * out->w);
    return NN_OK;
}

const float *nn_net_probs(const nn_net *net)
{
    return net && net->built ? net->probs : NULL;
}

int nn_net_min_batch(const nn_net *net)
{
    int batch = 1;
    for (int i = 0; net && i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        while (layer->kind->ops.check_batch &&
               layer->kind->ops.check_batch(layer, batch, 1) != NN_OK)
            batch++;
    }
    return batch;
}

/* The index of the first value of x[0..n) that is NaN or infinite, or -1. */
static long first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; x && i < n; i++)
        if (!isfinite(x[i]))
            return (long)i;
    return -1;
}

/* "... sample S value V is nan" for element i of a tensor, into msg. */
static void name_value(char *msg, size_t msg_size, const char *where,
                       const nn_tensor *t, long i)
{
    size_t per_sample = (size_t)t->c * t->h * t->w;
    nn_format_msg(msg, msg_size, "%s: sample %zu value %zu is %g", where,
                  (size_t)i / per_sample, (size_t)i % per_sample,
                  (double)t->x[i]);
}

nn_status nn_net_check_finite(const nn_net *net, char *msg, size_t msg_size)
{
    long at;
    nn_format_msg(msg, msg_size, "%s", "");
    if (!net)
        return NN_EINVAL;
    if (!net->built || net->batch_total == 0)
        return NN_ESTATE;
    for (int i = 0; i <= net->count; i++) {
        const nn_tensor *t = &net->tensors[i];
        char where[96];
        if (net->inference_only && i > 0 && i < net->count)
            continue; /* working memory that later layers overwrote */
        if (i > 0 && net->layers[i - 1]->relu_applied)
            continue; /* not written: the layer wrote its relu's output */
        at = first_nonfinite(t->x, nn_tensor_count(t));
        if (at < 0)
            continue;
        if (i == 0)
            snprintf(where, sizeof where, "the input batch");
        else
            snprintf(where, sizeof where, "the output of layer %d (%s)",
                     i - 1, net->layers[i - 1]->kind->name);
        name_value(msg, msg_size, where, t, at);
        return NN_ENUMERIC;
    }
    for (int i = 0; net->grads && i < net->count; i++) {
        const nn_layer *layer = net->layers[i];
        nn_layer_field fields[NN_MAX_FIELDS];
        int count = layer->kind->describe.fields ? layer->kind->describe.fields(layer, fields) : 0;
        at = first_nonfinite(layer->grads, layer->sizes.params);
        if (at < 0)
            continue;
        for (int f = 0; f < count; f++)
            if (!fields[f].state && (size_t)at >= fields[f].offset &&
                (size_t)at < fields[f].offset + fields[f].count) {
                nn_format_msg(msg, msg_size, "the gradient of layer %d (%s) "
                              "%s[%zu] is %g", i, layer->kind->name,
                              fields[f].name, (size_t)at - fields[f].offset,
                              (double)layer->grads[at]);
                return NN_ENUMERIC;
            }
        nn_format_msg(msg, msg_size, "the gradient of layer %d (%s) "
                      "parameter %ld is %g", i, layer->kind->name, at,
                      (double)layer->grads[at]);
        return NN_ENUMERIC;
    }
    return NN_OK;
}
