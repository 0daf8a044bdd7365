/* Fully connected layer: y = x W^T + b.
 * The input (n, c, h, w) is read as (n, in) with in = c*h*w: no copy. */
#include "layers/layer.h"
#include "compute/gemm.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* x (n, in), W (out, in), b (out) -> y (n, out), with the given gemm */
static void forward_with(nn_sgemm_fn sgemm, const float *x, const float *weight,
                         const float *bias, float *y, int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            y[(size_t)i * out + o] = bias[o];
    sgemm(0, 1, n, out, in, 1.0f, x, in, weight, in, 1.0f, y, out);
}

void nn_dense_forward(const float *x, const float *weight, const float *bias,
                      float *y, int n, int in, int out)
{
    forward_with(nn_sgemm, x, weight, bias, y, n, in, out);
}

/* dx (n, in) += dy W;  dW (out, in) += dy^T x;  db (out) += sum_n dy */
void nn_dense_backward(const float *x, const float *weight, const float *dy,
                       float *dx, float *dweight, float *dbias, int n, int in,
                       int out)
{
    nn_sgemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dweight, in);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            dbias[o] += dy[(size_t)i * out + o];
    if (dx)
        nn_sgemm(0, 0, n, in, out, 1.0f, dy, out, weight, in, 1.0f, dx, in);
}

static int dense_inputs(const nn_layer *layer)
{
    return layer->in_c * layer->in_h * layer->in_w;
}

static nn_status dense_reshape(nn_layer *layer)
{
    int outputs = layer->args.out;
    size_t in;
    if (!nn_mul_size((size_t)layer->in_c * layer->in_h, (size_t)layer->in_w, &in) ||
        in > (size_t)1 << 30 || in * (size_t)outputs > INT_MAX)
        return NN_EOVERFLOW; /* the gemm calls index with int */
    layer->out_c = outputs;
    layer->out_h = 1;
    layer->out_w = 1;
    return NN_OK;
}

/* Pieces of at least 32 rows (small gemms lose speed), at most NN_PIECES. */
static int pieces(int rows)
{
    int p = rows / 32;
    return p < 1 ? 1 : p > NN_PIECES ? NN_PIECES : p;
}

/* Pieces of at least 192 inputs (12 tiles of 16), at most NN_PIECES. */
static int column_pieces(int inputs)
{
    int p = inputs / 192;
    return p < 1 ? 1 : p > NN_PIECES ? NN_PIECES : p;
}

/* The most rows one piece of any batch up to max_batch may have. */
static int largest_piece(int max_batch)
{
    int most = 0;
    for (int n = 1; n <= max_batch; n++) {
        int rows = (n + pieces(n) - 1) / pieces(n);
        most = rows > most ? rows : most;
    }
    return most;
}

/* Columns of dW one step of a backward task makes for every shard before
 * adding them up: the shards' partial products stay in cache. */
#define PARTIAL_COLUMNS 64

/* Floats of one shard's partials: (outputs, PARTIAL_COLUMNS) per column
 * piece, then db (outputs). */
static size_t shard_partials(int inputs, int outputs)
{
    return (size_t)column_pieces(inputs) * outputs * PARTIAL_COLUMNS +
           (size_t)outputs;
}

static void dense_sizes(const nn_layer *layer, int max_batch,
                        nn_layer_sizes *out)
{
    size_t outputs = (size_t)layer->args.out;
    out->decayed = outputs * dense_inputs(layer);
    out->params = out->decayed + outputs;
    out->partials = shard_partials(dense_inputs(layer), layer->args.out);
    /* y^T of one piece of the batch (see dense_forward_task) */
    out->scratch = outputs * largest_piece(max_batch);
}

static void dense_init(nn_layer *layer, nn_rng *rng, float gain2)
{
    int in = dense_inputs(layer), outputs = layer->args.out;
    nn_init_weights(layer->params, (size_t)outputs * in, in, outputs, gain2,
                    rng);
    for (int o = 0; o < outputs; o++)
        layer->params[(size_t)outputs * in + o] = 0.0f;
}

/* One parallel job: y rows, or dW/db columns then dx columns, cut into
 * pieces whose number depends on the shapes only, never on the thread
 * count. */
typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    const nn_exec *ex;
    nn_sgemm_fn sgemm;
    int inputs, outputs;
    int row_pieces, col_pieces; /* pieces of the batch, of the inputs */
} dense_job;

/* dst (cols, rows) = src (rows, cols)^T; reading src in order is twice
 * as fast as writing dst in order. */
static void transpose(const float *restrict src, float *restrict dst, int rows,
                      int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[(size_t)c * rows + r] = src[(size_t)r * cols + c];
}

/* y[r0:r1, :] = x[r0:r1, :] W^T + b, computed as its transpose
 * y^T = W x^T (out, rows) in the thread's scratch, then copied back.
 * The batch is the short side: as the gemm's columns it fills the
 * micro-kernel's 16-wide tiles (a batch of 64 is four of them), W is read
 * in place rather than packed once per piece, and only this piece of x is
 * packed. Each output is still b + the same products summed in the same
 * order, so the result is bit-identical to nn_dense_forward's (which a
 * piece of fewer than 8 rows runs: one column of tiles would be mostly
 * empty). */
static void dense_forward_task(void *p, int task, int thread)
{
    const dense_job *job = p;
    const float *w = job->layer->forward_params;
    const float *bias = w + (size_t)job->outputs * job->inputs;
    float *yt = job->ex->scratch + (size_t)thread * job->ex->scratch_stride;
    int first, last, rows, out_n = job->outputs;
    nn_split(job->in->n, job->row_pieces, task, &first, &last);
    rows = last - first;
    if (rows == 0)
        return;
    if (rows < 8) { /* a few rows: y = x W^T + b directly is faster */
        forward_with(job->sgemm, job->in->x + (size_t)first * job->inputs, w,
                     bias, job->out->x + (size_t)first * out_n, rows,
                     job->inputs, out_n);
        return;
    }
    for (int o = 0; o < out_n; o++)
        for (int i = 0; i < rows; i++)
            yt[(size_t)o * rows + i] = bias[o];
    job->sgemm(0, 1, out_n, rows, job->inputs, 1.0f, w, job->inputs,
               job->in->x + (size_t)first * job->inputs, job->inputs, 1.0f,
               yt, rows);
    transpose(yt, job->out->x + (size_t)first * out_n, out_n, rows);
}

/* Columns [first, last) of piece `piece` of the inputs cut into `pieces`
 * pieces, on 16-column boundaries (the width of the gemm's tiles). */
static void column_piece(int inputs, int pieces, int piece, int *first,
                         int *last)
{
    nn_split((inputs + 15) / 16, pieces, piece, first, last);
    *first *= 16;
    *last = *last * 16 < inputs ? *last * 16 : inputs;
}

/* dW[:, c0:c1] += the tree (nn_tree_floats) over shards s of
 * dy_s^T x_s[:, c0:c1], each made in piece `piece`'s (outputs, c1 - c0)
 * of shard s's partials. */
static void weight_grads(const dense_job *job, int piece, int c0, int c1)
{
    const nn_tensor *in = job->in, *out = job->out;
    const nn_exec *ex = job->ex;
    int in_n = job->inputs, out_n = job->outputs, width = c1 - c0;
    size_t stride = job->layer->sizes.partials, size = (size_t)out_n * width;
    float *partial = ex->partials + (size_t)piece * out_n * PARTIAL_COLUMNS;
    float *dw = job->layer->grads;
    const nn_batch_shards *batch = ex->batch;
    for (int s = 0; s < batch->shards; s++) {
        int first = batch->bounds[s], rows = batch->bounds[s + 1] - first;
        job->sgemm(1, 0, out_n, width, rows, 1.0f,
                   out->g + (size_t)first * out_n, out_n,
                   in->x + (size_t)first * in_n + c0, in_n, 0.0f,
                   partial + s * stride, width);
    }
    nn_tree_floats(partial, batch->shards, stride, 0, size);
    for (int o = 0; o < out_n; o++)
        for (int c = 0; c < width; c++)
            dw[(size_t)o * in_n + c0 + c] += partial[(size_t)o * width + c];
}

/* db += the tree of the shards' sum_n dy, each summed row after row. */
static void bias_grads(const dense_job *job)
{
    const nn_exec *ex = job->ex;
    int out_n = job->outputs;
    size_t stride = job->layer->sizes.partials;
    size_t db_at = stride - (size_t)out_n;
    float *db = job->layer->grads + (size_t)out_n * job->inputs;
    const nn_batch_shards *batch = ex->batch;
    for (int s = 0; s < batch->shards; s++) {
        float *sums = ex->partials + s * stride + db_at;
        for (int o = 0; o < out_n; o++)
            sums[o] = 0.0f;
        for (int i = batch->bounds[s]; i < batch->bounds[s + 1]; i++)
            for (int o = 0; o < out_n; o++)
                sums[o] += job->out->g[(size_t)i * out_n + o];
    }
    nn_tree_floats(ex->partials, batch->shards, stride, db_at, db_at + out_n);
    for (int o = 0; o < out_n; o++)
        db[o] += ex->partials[db_at + o];
}

/* Backward cuts the inputs, not the batch or the outputs: a piece of
 * columns packs only its own columns of x (for dW) or of W (for dx), where a
 * piece of rows would pack all of it again. Each value still sums the same
 * products in the same order whatever the cut: per shard of the batch,
 * then the shards as a tree.
 * Tasks 0..col_pieces-1: dW[:, c0:c1] (the first one also db),
 * PARTIAL_COLUMNS at a time; the next col_pieces: dx[:, c0:c1] += dy W[:, c0:c1]. */
static void dense_backward_task(void *p, int task, int thread)
{
    const dense_job *job = p;
    const nn_tensor *in = job->in, *out = job->out;
    int in_n = job->inputs, out_n = job->outputs, first, last;
    (void)thread;
    column_piece(in_n, job->col_pieces, task % job->col_pieces, &first, &last);
    if (task >= job->col_pieces) {
        if (last > first)
            job->sgemm(0, 0, in->n, last - first, out_n, 1.0f, out->g, out_n,
                       job->layer->params + first, in_n, 1.0f, in->g + first,
                       in_n);
        return;
    }
    /* the shards' products tile by tile; else PARTIAL_COLUMNS at a time,
     * the same sums */
    if (last > first &&
        !nn_sgemm_tree_for(job->ex->kernels)(
            1, 0, out_n, last - first, job->ex->batch->bounds,
            job->ex->batch->shards,
            out->g, out_n, in->x + first, in_n, job->layer->grads + first,
            in_n))
        for (int c = first; c < last; c += PARTIAL_COLUMNS)
            weight_grads(job, task, c,
                         c + PARTIAL_COLUMNS < last ? c + PARTIAL_COLUMNS
                                                    : last);
    if (task == 0)
        bias_grads(job);
}

static void dense_forward(nn_layer *layer, const nn_tensor *in,
                          nn_tensor *out, const nn_exec *ex)
{
    int outputs = layer->args.out;
    dense_job job = {layer, in, out, ex, ex->sgemm, dense_inputs(layer),
                     outputs, pieces(in->n), 0};
    nn_pool_run(ex->pool, job.row_pieces, dense_forward_task, &job);
}

static void dense_backward(nn_layer *layer, const nn_tensor *in,
                           const nn_tensor *out, const nn_exec *ex)
{
    int outputs = layer->args.out;
    int inputs = dense_inputs(layer);
    dense_job job = {layer, in, out, ex, ex->sgemm, inputs, outputs, 0,
                     column_pieces(inputs)};
    nn_pool_run(ex->pool, job.col_pieces * (in->g ? 2 : 1),
                dense_backward_task, &job);
}

/* denseN, after "dense" */
static int dense_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return nn_spec_int(c, "output count", 1, NN_SPEC_MAX_DENSE, &a->out);
}

static int dense_print(const nn_layer_args *a, char *buf, size_t size)
{
    return snprintf(buf, size, "dense%d", a->out);
}

static nn_status dense_check(const nn_layer_args *a)
{
    return a->out > 0 && a->out <= NN_SPEC_MAX_DENSE ? NN_OK : NN_EINVAL;
}

/* folded = params with next's channel map on each output */
static void dense_fold(const nn_layer *layer, const nn_layer *next,
                       float *folded)
{
    nn_fold_rows(layer, next, folded, layer->args.out,
                 (size_t)dense_inputs(layer));
}

/* weight (out, in), then bias (out) */
static int dense_fields(const nn_layer *layer, nn_layer_field *f)
{
    int outputs = layer->args.out;
    f[0] = (nn_layer_field){"weight", 0, 2, {outputs, dense_inputs(layer), 0, 0},
                            0, layer->sizes.decayed, 0};
    f[1] = (nn_layer_field){"bias", 0, 1, {outputs, 0, 0, 0},
                            layer->sizes.decayed, (size_t)outputs, 0};
    return 2;
}

/* Per sample: in*out products forward, for dW and for dx. */
static void dense_macs(const nn_layer *layer, const nn_exec *ex,
                       int input_grad, nn_layer_macs *out)
{
    uint64_t product = (uint64_t)dense_inputs(layer) * layer->args.out;
    (void)ex;
    out->forward = out->direct_forward = product;
    out->backward = out->direct_backward = product * (input_grad ? 2 : 1);
}

const nn_layer_kind nn_kind_dense = {
    .name = "dense",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "dense", .grammar = "denseN", .parse = dense_parse,
             .print = dense_print, .check = dense_check},
    .ops = {.reshape = dense_reshape, .sizes = dense_sizes,
            .init = dense_init, .forward = dense_forward,
            .backward = dense_backward, .fold = dense_fold},
    .describe = {.fields = dense_fields, .macs = dense_macs},
};
