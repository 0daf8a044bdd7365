/* 2-D convolution with zero padding and stride. The kernels in this file
 * are the textbook method, im2col + gemm: each image's receptive fields
 * become the columns of a matrix col (in_c*kh*kw, out_h*out_w), so that
 * y_n = W col + b. The layer picks per call between them and two faster
 * methods for the shapes that suit them (conv_pick below): a direct AVX2
 * convolution for few channels (src/compute/conv_direct_avx2.c) and
 * Winograd for 3x3 stride-1 layers (src/compute/conv_winograd.c and
 * conv_winograd43.c). */
#include "layers/layer.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "compute/conv_direct.h"
#include "compute/winograd.h"

nn_status nn_conv2d_shape_check(nn_conv2d_shape *s)
{
    size_t total;
    if (s->in_c <= 0 || s->in_h <= 0 || s->in_w <= 0 || s->out_c <= 0 ||
        s->kh <= 0 || s->kw <= 0 || s->stride <= 0 || s->pad < 0)
        return NN_EINVAL;
    if (s->in_h > (1 << 20) || s->in_w > (1 << 20) || s->kh > (1 << 20) ||
        s->kw > (1 << 20) || s->pad > (1 << 20) || s->in_c > (1 << 24) ||
        s->out_c > (1 << 24))
        return NN_EOVERFLOW;
    if (s->kh > s->in_h + 2 * s->pad || s->kw > s->in_w + 2 * s->pad)
        return NN_ESHAPE;
    s->out_h = (s->in_h + 2 * s->pad - s->kh) / s->stride + 1;
    s->out_w = (s->in_w + 2 * s->pad - s->kw) / s->stride + 1;
    /* Every per-image count must fit an int for the gemm calls. */
    if (!nn_mul_size((size_t)s->in_c * s->kh, (size_t)s->kw, &total) ||
        !nn_mul_size(total, (size_t)s->out_h * s->out_w, &total) ||
        total > INT_MAX || (size_t)s->out_c * s->in_c * s->kh * s->kw > INT_MAX)
        return NN_EOVERFLOW;
    return NN_OK;
}

size_t nn_conv2d_scratch(const nn_conv2d_shape *s)
{
    return (size_t)s->in_c * s->kh * s->kw * s->out_h * s->out_w;
}

/* The output columns ox whose input column ox*stride - pad + kj lies
 * inside [0, in_w): [*lo, *hi). Outside it the receptive field is padding. */
static void valid_columns(const nn_conv2d_shape *s, int kj, int *lo, int *hi)
{
    int offset = kj - s->pad; /* ix = ox * stride + offset */
    *lo = offset >= 0 ? 0 : (-offset + s->stride - 1) / s->stride;
    *hi = s->in_w - offset <= 0 ? 0 : (s->in_w - offset + s->stride - 1) / s->stride;
    if (*hi > s->out_w)
        *hi = s->out_w;
    if (*lo > *hi)
        *lo = *hi;
}

/* col (in_c*kh*kw, out_h*out_w) <- receptive fields of one image
 * x (in_c, in_h, in_w): col[(c,ki,kj), (oy,ox)] = x[c, oy*s-p+ki, ox*s-p+kj],
 * zero where that falls in the padding. */
static void im2col(const nn_conv2d_shape *s, const float *x, float *col)
{
    for (int c = 0; c < s->in_c; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                float *row = col + ((size_t)(c * s->kh + ki) * s->kw + kj) *
                                       s->out_h * s->out_w;
                const float *plane = x + (size_t)c * s->in_h * s->in_w;
                int lo, hi, offset = kj - s->pad;
                valid_columns(s, kj, &lo, &hi);
                for (int oy = 0; oy < s->out_h; oy++) {
                    int iy = oy * s->stride - s->pad + ki;
                    int inside = iy >= 0 && iy < s->in_h;
                    int first = inside ? lo : 0, last = inside ? hi : 0, ox;
                    float *dst = row + (size_t)oy * s->out_w;
                    /* row iy of the plane; indexed only at valid columns,
                     * so no pointer ever leaves the image */
                    const float *src = plane + (size_t)(inside ? iy : 0) * s->in_w;
                    for (ox = 0; ox < first; ox++)
                        dst[ox] = 0.0f;
                    if (s->stride == 1)
                        for (; ox < last; ox++)
                            dst[ox] = src[ox + offset];
                    else
                        for (; ox < last; ox++)
                            dst[ox] = src[ox * s->stride + offset];
                    for (; ox < s->out_w; ox++)
                        dst[ox] = 0.0f;
                }
            }
}

/* dx (in_c, in_h, in_w) += the columns of col scattered back: im2col's adjoint */
static void col2im(const nn_conv2d_shape *s, const float *col, float *dx)
{
    for (int c = 0; c < s->in_c; c++)
        for (int ki = 0; ki < s->kh; ki++)
            for (int kj = 0; kj < s->kw; kj++) {
                const float *row = col + ((size_t)(c * s->kh + ki) * s->kw + kj) *
                                             s->out_h * s->out_w;
                float *plane = dx + (size_t)c * s->in_h * s->in_w;
                int lo, hi, offset = kj - s->pad;
                valid_columns(s, kj, &lo, &hi);
                for (int oy = 0; oy < s->out_h; oy++) {
                    int iy = oy * s->stride - s->pad + ki;
                    const float *src = row + (size_t)oy * s->out_w;
                    float *dst;
                    if (iy < 0 || iy >= s->in_h)
                        continue;
                    dst = plane + (size_t)iy * s->in_w; /* row iy */
                    if (s->stride == 1)
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox + offset] += src[ox];
                    else
                        for (int ox = lo; ox < hi; ox++)
                            dst[ox * s->stride + offset] += src[ox];
                }
            }
}

/* nn_conv2d_forward with the given gemm */
static void im2col_forward(nn_sgemm_fn sgemm, const nn_conv2d_shape *s,
                           const float *x, const float *weight,
                           const float *bias, float *y, float *col, int n)
{
    int k = s->in_c * s->kh * s->kw, p = s->out_h * s->out_w;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    for (int i = 0; i < n; i++) {
        float *yi = y + (size_t)i * s->out_c * p; /* (out_c, p) */
        im2col(s, x + (size_t)i * in_size, col);
        for (int o = 0; o < s->out_c; o++)
            for (int j = 0; j < p; j++)
                yi[(size_t)o * p + j] = bias[o];
        sgemm(0, 0, s->out_c, p, k, 1.0f, weight, k, col, p, 1.0f, yi, p);
    }
}

/* nn_conv2d_backward with the given gemm */
static void im2col_backward(nn_sgemm_fn sgemm, const nn_conv2d_shape *s,
                            const float *x, const float *weight,
                            const float *dy, float *dx, float *dweight,
                            float *dbias, float *col, int n)
{
    int k = s->in_c * s->kh * s->kw, p = s->out_h * s->out_w;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    for (int i = 0; i < n; i++) {
        const float *dyi = dy + (size_t)i * s->out_c * p; /* (out_c, p) */
        for (int o = 0; o < s->out_c; o++)
            dbias[o] += nn_sum(dyi + (size_t)o * p, (size_t)p);
        im2col(s, x + (size_t)i * in_size, col);
        /* dW (out_c, k) += dy_i (out_c, p) col^T (p, k) */
        sgemm(0, 1, s->out_c, k, p, 1.0f, dyi, p, col, p, 1.0f, dweight, k);
        if (!dx)
            continue;
        /* dcol (k, p) = W^T (k, out_c) dy_i (out_c, p) */
        sgemm(1, 0, k, p, s->out_c, 1.0f, weight, k, dyi, p, 0.0f, col, p);
        col2im(s, col, dx + (size_t)i * in_size);
    }
}

void nn_conv2d_forward(const nn_conv2d_shape *s, const float *x,
                       const float *weight, const float *bias, float *y,
                       float *col, int n)
{
    im2col_forward(nn_sgemm, s, x, weight, bias, y, col, n);
}

void nn_conv2d_backward(const nn_conv2d_shape *s, const float *x,
                        const float *weight, const float *dy, float *dx,
                        float *dweight, float *dbias, float *col, int n)
{
    im2col_backward(nn_sgemm, s, x, weight, dy, dx, dweight, dbias, col, n);
}

typedef struct {
    nn_layer base;
    nn_conv2d_shape shape;
} conv2d_layer;

/* How a convolution is computed; picked per call from the shape and the
 * net's choice of kernels. */
typedef enum {
    CONV_IM2COL, CONV_WINOGRAD, CONV_WINOGRAD43, CONV_DIRECT
} conv_algo;

/* Where a net built for inference runs F(4x4, 3x3) instead of F(2x2, 3x3),
 * from single-thread timings of both on the presets' layer shapes at
 * batches 1 and 64 (docs/BENCHMARKS.md): outputs of 24x24 or more at any
 * batch (1.1x to 1.25x faster); outputs of 12x12 to 23x23 with up to 64
 * channels on either side in calls of 16 or more images (up to 1.2x); never
 * below 12x12 or above 128 input channels, where the 36 gemms get too few
 * columns (F(4x4) took up to 1.8x as long) and the error grows
 * (test_winograd43). Depends on the shape and the call's batch only. */
#define CONV_WINOGRAD43_ANY_BATCH_SIDE 24
#define CONV_WINOGRAD43_MIN_SIDE 12
#define CONV_WINOGRAD43_MIN_BATCH 16
#define CONV_WINOGRAD43_MID_MAX_C 64
#define CONV_WINOGRAD43_MAX_IN_C 128

/* batch 0: may the layer run F(4x4) on some batch (its U is then made). */
static int winograd43_suits(const nn_conv2d_shape *s, int batch)
{
    int side = s->out_h < s->out_w ? s->out_h : s->out_w;
    if (s->in_c > CONV_WINOGRAD43_MAX_IN_C || side < CONV_WINOGRAD43_MIN_SIDE)
        return 0;
    if (side >= CONV_WINOGRAD43_ANY_BATCH_SIDE)
        return 1;
    return (batch == 0 || batch >= CONV_WINOGRAD43_MIN_BATCH) &&
           s->in_c <= CONV_WINOGRAD43_MID_MAX_C &&
           s->out_c <= CONV_WINOGRAD43_MID_MAX_C;
}

/* Where training runs F(4x4, 3x3) instead of F(2x2, 3x3), from the CPU
 * time of forward + backward of both at batch 64 on the presets' layer
 * shapes, one thread, the AVX-512 gemm and vectorised F(4x4) transforms
 * (min of 15 runs alternating in one process): outputs of 24x24 or more,
 * where F(4x4) takes 0.75x to 0.93x of F(2x2)'s time (16 channels at
 * 32x32 0.75, 32 at 32x32 0.81, 32 at 28x28 0.92, 64 at 26x26 0.93); not
 * below, where it takes longer (16x16 with 32 to 64 channels 1.08, 14x14
 * 1.29, 12x12 1.58, 8x8 1.78), nor above 128 input channels (the error,
 * test_winograd43). Depends on the shape only. */
static int winograd43_trains(const nn_conv2d_shape *s)
{
    int side = s->out_h < s->out_w ? s->out_h : s->out_w;
    return side >= CONV_WINOGRAD43_ANY_BATCH_SIDE &&
           s->in_c <= CONV_WINOGRAD43_MAX_IN_C;
}

/* batch: images of the call (0: any, for prepare and the counts of
 * multiply-adds). */
static conv_algo conv_pick(const nn_conv2d_shape *s, const nn_exec *ex,
                           int batch)
{
    if (ex->avx2 && nn_conv_direct_fits(s))
        return CONV_DIRECT;
    if (ex->kernels != NN_KERNELS_REFERENCE && nn_winograd_fits(s)) {
        int f43 = ex->inference ? winograd43_suits(s, batch)
                                : winograd43_trains(s);
        return f43 ? CONV_WINOGRAD43 : CONV_WINOGRAD;
    }
    return CONV_IM2COL;
}

/* Where U of each Winograd kind lives in the cache: F(2x2)'s first, then
 * F(4x4)'s (where a net may run it). */
static const float *winograd43_u(const nn_layer *layer,
                                 const nn_conv2d_shape *s)
{
    return (const float *)layer->cache + nn_winograd_weights_size(s);
}

static nn_status conv2d_reshape(nn_layer *layer)
{
    conv2d_layer *cv = (conv2d_layer *)layer;
    nn_status st;
    cv->shape.out_c = layer->args.out;
    cv->shape.kh = layer->args.kh;
    cv->shape.kw = layer->args.kw;
    cv->shape.stride = layer->args.stride;
    cv->shape.pad = layer->args.pad;
    cv->shape.in_c = layer->in_c;
    cv->shape.in_h = layer->in_h;
    cv->shape.in_w = layer->in_w;
    st = nn_conv2d_shape_check(&cv->shape);
    if (st != NN_OK)
        return st;
    layer->out_c = cv->shape.out_c;
    layer->out_h = cv->shape.out_h;
    layer->out_w = cv->shape.out_w;
    return NN_OK;
}

/* Scratch and cache cover every algorithm the shape may run with, so the
 * kernels can be switched after the net is built. */
static void conv2d_sizes(const nn_layer *layer, int max_batch,
                         nn_layer_sizes *out)
{
    const nn_conv2d_shape *s = &((const conv2d_layer *)layer)->shape;
    (void)max_batch;
    out->decayed = (size_t)s->out_c * s->in_c * s->kh * s->kw;
    out->params = out->decayed + (size_t)s->out_c;
    out->scratch = nn_conv2d_scratch(s);
    out->partials = out->params; /* dW and db summed per shard */
    if (nn_winograd_fits(s)) {
        size_t need = nn_winograd_scratch(s);
        if (need > out->scratch)
            out->scratch = need;
        /* U of F(2x2, 3x3), then U of F(4x4, 3x3) where a net built for
         * inference or training may run it */
        out->cache = nn_winograd_weights_size(s) * sizeof(float);
        if (winograd43_suits(s, 0) || winograd43_trains(s)) {
            if (nn_winograd43_scratch(s) > out->scratch)
                out->scratch = nn_winograd43_scratch(s);
            out->cache += nn_winograd43_weights_size(s) * sizeof(float);
        }
    }
    if (nn_conv_direct_fits(s) && nn_conv_direct_scratch(s) > out->scratch)
        out->scratch = nn_conv_direct_scratch(s);
}

static void conv2d_init(nn_layer *layer, nn_rng *rng, float gain2)
{
    const nn_conv2d_shape *s = &((const conv2d_layer *)layer)->shape;
    int area = s->kh * s->kw;
    size_t weights = (size_t)s->out_c * s->in_c * area;
    nn_init_weights(layer->params, weights, s->in_c * area, s->out_c * area,
                    gain2, rng);
    for (int o = 0; o < s->out_c; o++)
        layer->params[weights + o] = 0.0f;
}

/* Forward: one task per image (im2col) or per group of images (Winograd).
 * Backward: one task per piece of a shard of the batch (nn_exec,
 * nn_shard_pieces), each summing its own dW and db into a partial buffer
 * and writing its images' dx; the partials are then added as a tree
 * (nn_reduce_tree). Both cuts depend on the shapes and shards only. */
typedef struct {
    const conv2d_layer *cv;
    const nn_tensor *in, *out;
    const nn_exec *ex;
    conv_algo algo;
    int group;  /* images per forward task */
    int pieces; /* of each shard */
    int tasks;  /* backward tasks: the shards' pieces */
} conv2d_job;

static float *task_scratch(const conv2d_job *job, int thread)
{
    return job->ex->scratch + (size_t)thread * job->ex->scratch_stride;
}

static void conv2d_forward_task(void *p, int task, int thread)
{
    const conv2d_job *job = p;
    const nn_conv2d_shape *s = &job->cv->shape;
    const nn_layer *layer = &job->cv->base;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    const float *w = layer->forward_params, *bias = w + layer->sizes.decayed;
    int first = task * job->group, n = job->in->n - first;
    const float *x = job->in->x + first * in_size;
    float *y = job->out->x + first * out_size;
    if (n > job->group)
        n = job->group;
    if (job->algo == CONV_WINOGRAD)
        nn_winograd_forward(s, job->ex->sgemm, layer->cache, x, bias, y,
                            task_scratch(job, thread), n);
    else if (job->algo == CONV_WINOGRAD43)
        nn_winograd43_forward(s, job->ex->sgemm, winograd43_u(layer, s), x,
                              bias, y, task_scratch(job, thread), n);
    else if (job->algo == CONV_DIRECT)
        nn_conv_direct_forward(s, x, w, bias, y, task_scratch(job, thread), n);
    else
        im2col_forward(job->ex->sgemm, s, x, w, bias, y,
                       task_scratch(job, thread), n);
    if (layer->relu_applied) /* while y is in the cache */
        nn_relu_in_place(y, (size_t)n * out_size);
}

/* The Winograd kernels of one tile size, as the backward task uses them. */
typedef struct {
    size_t (*weights_size)(const nn_conv2d_shape *s);
    int (*group)(const nn_conv2d_shape *s);
    void (*backward)(const nn_conv2d_shape *s, nn_sgemm_fn sgemm,
                     const float *u, const float *x, const float *dy,
                     float *dx, float *du, float *dbias, float *scratch, int n);
    void (*weight_grads)(const nn_conv2d_shape *s, const float *du,
                         float *dw);
} winograd_kernels;

static const winograd_kernels winograd22_kernels = {
    nn_winograd_weights_size, nn_winograd_group, nn_winograd_backward,
    nn_winograd_weight_grads};
static const winograd_kernels winograd43_kernels = {
    nn_winograd43_weights_size, nn_winograd43_group, nn_winograd43_backward,
    nn_winograd43_weight_grads};

/* A backward task's images [first, last) by Winograd (F(2x2) or F(4x4), as
 * the job picked): dU summed over the task's groups, then turned into dW
 * once, in partial (dW, then db). */
static void winograd_backward_task(const conv2d_job *job, int first, int last,
                                   float *partial, float *scratch)
{
    const nn_conv2d_shape *s = &job->cv->shape;
    const nn_layer *layer = &job->cv->base;
    int f43 = job->algo == CONV_WINOGRAD43;
    const winograd_kernels *k = f43 ? &winograd43_kernels : &winograd22_kernels;
    const float *u = f43 ? winograd43_u(layer, s) : layer->cache;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    size_t du_size = k->weights_size(s);
    float *du = scratch, *dbias = partial + layer->sizes.decayed;
    int group = k->group(s);
    for (size_t i = 0; i < du_size; i++)
        du[i] = 0.0f;
    for (int i = first; i < last; i += group) {
        int n = last - i < group ? last - i : group;
        k->backward(s, job->ex->sgemm, u, job->in->x + i * in_size,
                    job->out->g + i * out_size,
                    job->in->g ? job->in->g + i * in_size : NULL, du, dbias,
                    scratch + du_size, n);
    }
    k->weight_grads(s, du, partial);
}

static void conv2d_backward_task(void *p, int task, int thread)
{
    const conv2d_job *job = p;
    const nn_conv2d_shape *s = &job->cv->shape;
    const nn_layer *layer = &job->cv->base;
    size_t in_size = (size_t)s->in_c * s->in_h * s->in_w;
    size_t out_size = (size_t)s->out_c * s->out_h * s->out_w;
    float *partial = job->ex->partials + (size_t)task * layer->sizes.partials;
    float *dbias = partial + layer->sizes.decayed, *scratch = task_scratch(job, thread);
    const int *bounds = job->ex->batch->bounds + task / job->pieces;
    int first, last;
    nn_split(bounds[1] - bounds[0], job->pieces, task % job->pieces, &first,
             &last);
    first += bounds[0];
    last += bounds[0];
    for (size_t i = 0; i < layer->sizes.params; i++)
        partial[i] = 0.0f;
    if (first == last)
        return; /* an empty shard of a small batch */
    if (layer->relu_applied) /* out is the relu's: its mask, on our images */
        nn_relu_mask_in_place(job->out->x + first * out_size,
                              job->out->g + first * out_size,
                              (size_t)(last - first) * out_size);
    if (job->algo == CONV_WINOGRAD || job->algo == CONV_WINOGRAD43) {
        winograd_backward_task(job, first, last, partial, scratch);
        return;
    }
    if (job->algo == CONV_DIRECT) {
        nn_conv_direct_backward(s, job->in->x + first * in_size, layer->params,
                                job->out->g + first * out_size,
                                job->in->g ? job->in->g + first * in_size : NULL,
                                partial, dbias, scratch, last - first);
        return;
    }
    im2col_backward(job->ex->sgemm, s, job->in->x + first * in_size,
                    layer->params, job->out->g + first * out_size,
                    job->in->g ? job->in->g + first * in_size : NULL, partial,
                    dbias, scratch, last - first);
}

/* Task t of NN_PIECES: Winograd's transformed weights for its share of
 * the channel pairs. */
static void winograd_weights_task(void *p, int task, int thread)
{
    const conv2d_layer *cv = p;
    size_t first, last;
    (void)thread;
    nn_split_size((size_t)cv->shape.out_c * cv->shape.in_c, NN_PIECES, task,
                  &first, &last);
    nn_winograd_weights(&cv->shape, cv->base.forward_params, cv->base.cache,
                        first, last);
}

/* The same for F(4x4, 3x3)'s U. */
static void winograd43_weights_task(void *p, int task, int thread)
{
    const conv2d_layer *cv = p;
    size_t first, last;
    (void)thread;
    nn_split_size((size_t)cv->shape.out_c * cv->shape.in_c, NN_PIECES, task,
                  &first, &last);
    nn_winograd43_weights(&cv->shape, cv->base.forward_params,
                          (float *)winograd43_u(&cv->base, &cv->shape), first,
                          last);
}

/* The job for one call; Winograd's transformed weights are made here on
 * each call (backward makes them again: weights may change in between),
 * except in a net built for inference, whose prepare op made them. */
static conv2d_job conv2d_job_for(nn_layer *layer, const nn_tensor *in,
                                 const nn_tensor *out, const nn_exec *ex)
{
    conv2d_layer *cv = (conv2d_layer *)layer;
    int pieces = nn_shard_pieces(ex->batch->all_shards);
    conv2d_job job = {cv, in, out, ex, conv_pick(&cv->shape, ex, in->n), 1,
                      pieces, ex->batch->shards * pieces};
    if (job.algo == CONV_WINOGRAD43) {
        job.group = nn_winograd43_group(&cv->shape);
        if (!ex->inference)
            nn_pool_run(ex->pool, NN_PIECES, winograd43_weights_task, cv);
    }
    if (job.algo == CONV_WINOGRAD) {
        job.group = nn_winograd_group(&cv->shape);
        if (!ex->inference)
            nn_pool_run(ex->pool, NN_PIECES, winograd_weights_task, cv);
    }
    return job;
}

/* In a net built for inference: Winograd's U of the weights forward reads,
 * made once for every call until they change. */
static void conv2d_prepare(nn_layer *layer, const nn_exec *ex)
{
    const nn_conv2d_shape *s = &((conv2d_layer *)layer)->shape;
    if (!nn_winograd_fits(s))
        return;
    nn_pool_run(ex->pool, NN_PIECES, winograd_weights_task, layer);
    if (conv_pick(s, ex, 0) == CONV_WINOGRAD43)
        nn_pool_run(ex->pool, NN_PIECES, winograd43_weights_task, layer);
}

/* folded = params with next's channel map on each output channel */
static void conv2d_fold(const nn_layer *layer, const nn_layer *next,
                        float *folded)
{
    const nn_conv2d_shape *s = &((const conv2d_layer *)layer)->shape;
    nn_fold_rows(layer, next, folded, s->out_c,
                 (size_t)s->in_c * s->kh * s->kw);
}

static void conv2d_forward(nn_layer *layer, const nn_tensor *in,
                           nn_tensor *out, const nn_exec *ex)
{
    conv2d_job job = conv2d_job_for(layer, in, out, ex);
    nn_pool_run(ex->pool, (in->n + job.group - 1) / job.group,
                conv2d_forward_task, &job);
}

static void conv2d_backward(nn_layer *layer, const nn_tensor *in,
                            const nn_tensor *out, const nn_exec *ex)
{
    conv2d_job job = conv2d_job_for(layer, in, out, ex);
    nn_pool_run(ex->pool, job.tasks, conv2d_backward_task, &job);
    nn_reduce_tree(ex->pool, ex->partials, layer->grads, job.tasks,
                   layer->sizes.partials, layer->sizes.params);
}

/* convKHxKWxN[sS][pP], after "conv" */
static int conv2d_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    if (!nn_spec_int(c, "kernel height", 1, NN_SPEC_MAX_SIDE, &a->kh) ||
        !nn_spec_expect(c, 'x') ||
        !nn_spec_int(c, "kernel width", 1, NN_SPEC_MAX_SIDE, &a->kw) ||
        !nn_spec_expect(c, 'x') ||
        !nn_spec_int(c, "filter count", 1, NN_SPEC_MAX_FILTERS, &a->out))
        return 0;
    return nn_spec_stride_pad(c, a, 1);
}

/* convKHxKWxN, then sS when the stride is not 1 and pP when padded */
static int conv2d_print(const nn_layer_args *a, char *buf, size_t size)
{
    char rest[40];
    nn_spec_print_stride_pad(a, 1, rest, sizeof rest);
    return snprintf(buf, size, "conv%dx%dx%d%s", a->kh, a->kw, a->out, rest);
}

static nn_status conv2d_check(const nn_layer_args *a)
{
    return a->out > 0 && a->kh > 0 && a->kw > 0 && a->stride > 0 && a->pad >= 0
               ? NN_OK : NN_EINVAL;
}

/* weight (out_c, in_c, kh, kw), then bias (out_c) */
static int conv2d_fields(const nn_layer *layer, nn_layer_field *f)
{
    const nn_conv2d_shape *s = &((const conv2d_layer *)layer)->shape;
    f[0] = (nn_layer_field){"weight", 0, 4, {s->out_c, s->in_c, s->kh, s->kw},
                            0, layer->sizes.decayed, 0};
    f[1] = (nn_layer_field){"bias", 0, 1, {s->out_c, 0, 0, 0},
                            layer->sizes.decayed, (size_t)s->out_c, 0};
    return 2;
}

/* Per sample: direct convolution does out_c*in_c*kh*kw products per output
 * pixel in each pass (im2col's gemms the same); the direct kernels' input
 * gradient covers the in_h x in_w pixels of the padded dy; Winograd runs
 * 16 (F(2x2)) or 36 (F(4x4)) gemms per pass. */
static void conv2d_macs(const nn_layer *layer, const nn_exec *ex,
                        int input_grad, nn_layer_macs *out)
{
    const nn_conv2d_shape *s = &((const conv2d_layer *)layer)->shape;
    uint64_t taps = (uint64_t)s->out_c * s->in_c * s->kh * s->kw;
    uint64_t direct = taps * s->out_h * s->out_w, fwd = direct, dx = direct;
    conv_algo algo = conv_pick(s, ex, 0);
    if (algo == CONV_WINOGRAD)
        fwd = dx = nn_winograd_macs(s);
    else if (algo == CONV_WINOGRAD43)
        fwd = dx = nn_winograd43_macs(s);
    else if (algo == CONV_DIRECT)
        dx = taps * s->in_h * s->in_w;
    out->forward = fwd;
    out->backward = fwd + (input_grad ? dx : 0);
    out->direct_forward = direct;
    out->direct_backward = direct * (input_grad ? 2 : 1);
}

const nn_layer_kind nn_kind_conv2d = {
    .name = "conv2d",
    .flags = NN_KIND_FUSES_RELU | NN_KIND_FUSES_RELU_TRAINING |
             NN_KIND_MASKS_IN_PLACE,
    .object_size = sizeof(conv2d_layer),
    .spec = {.token = "conv", .grammar = "convKxKxN[sS][pP]",
             .parse = conv2d_parse, .print = conv2d_print,
             .check = conv2d_check, .defaults = {.stride = 1}},
    .ops = {.reshape = conv2d_reshape, .sizes = conv2d_sizes,
            .init = conv2d_init, .forward = conv2d_forward,
            .backward = conv2d_backward, .prepare = conv2d_prepare,
            .fold = conv2d_fold},
    .describe = {.fields = conv2d_fields, .macs = conv2d_macs},
};
