/* Max pooling: each output is the largest input in its k x k window.
 * Windows may overlap (stride < k); there is no padding. */
#include "layers/layer.h"

#include <stdio.h>

/* The largest of one k x k window whose top-left corner is at offset
 * `at` of a plane of width in_w; *where gets its offset (first on ties).
 * A NaN anywhere in the window wins (the first one), as in PyTorch: a bad
 * value is never hidden. */
static float window_max(const float *plane, int at, int in_w, int k, int *where)
{
    float best = plane[at];
    int best_at = at;
    for (int i = 0; i < k; i++) {
        const float *row = plane + at + i * in_w;
        for (int j = 0; j < k; j++)
            if (row[j] > best || (row[j] != row[j] && best == best)) {
                best = row[j];
                best_at = at + i * in_w + j;
            }
    }
    *where = best_at;
    return best;
}

/* One output row of the 2 x 2, stride 2 window (the one every preset uses),
 * from input rows r0 and r1 that start at offset `at` of their plane:
 * y[ox] = max(r0[2ox], r0[2ox+1], r1[2ox], r1[2ox+1]) and its offset, the
 * same as window_max gives, but without branches, so the loop vectorises:
 * the maximum first, by window_max's comparisons in window_max's order,
 * then the winner is the first value equal to it. Returns 1 when the rows
 * held a NaN, which window_max must then place (a NaN wins its window):
 * rare, so it costs the loop one compare per value, not a branch. */
static int max2x2_row(const float *restrict r0, const float *restrict r1,
                      float *restrict y, int *restrict argmax, int at,
                      int in_w, int out_w)
{
    int nans = 0;
    for (int ox = 0; ox < out_w; ox++) {
        float a = r0[2 * ox], b = r0[2 * ox + 1];
        float c = r1[2 * ox], d = r1[2 * ox + 1];
        float best = a;
        best = b > best ? b : best;
        best = c > best ? c : best;
        best = d > best ? d : best;
        int where = d == best ? in_w + 1 : 0;
        where = c == best ? in_w : where;
        where = b == best ? 1 : where;
        where = a == best ? 0 : where;
        y[ox] = best;
        argmax[ox] = at + 2 * ox + where;
        nans |= (a != a) | (b != b) | (c != c) | (d != d);
    }
    return nans;
}

/* y[p, oy, ox] = max over the window; argmax keeps where it was */
void nn_maxpool_forward(const float *x, float *y, int *argmax, int planes,
                        int in_h, int in_w, int k, int stride, int out_h,
                        int out_w)
{
    for (int p = 0; p < planes; p++) {
        const float *plane = x + (size_t)p * in_h * in_w;
        float *yp = y + (size_t)p * out_h * out_w;
        int *ap = argmax + (size_t)p * out_h * out_w;
        if (k == 2 && stride == 2) {
            for (int oy = 0; oy < out_h; oy++) {
                int at = 2 * oy * in_w;
                if (max2x2_row(plane + at, plane + at + in_w, yp + oy * out_w,
                               ap + oy * out_w, at, in_w, out_w))
                    for (int ox = 0; ox < out_w; ox++)
                        yp[oy * out_w + ox] = window_max(
                            plane, at + 2 * ox, in_w, 2, &ap[oy * out_w + ox]);
            }
            continue;
        }
        for (int oy = 0; oy < out_h; oy++)
            for (int ox = 0; ox < out_w; ox++)
                yp[oy * out_w + ox] =
                    window_max(plane, oy * stride * in_w + ox * stride, in_w,
                               k, &ap[oy * out_w + ox]);
    }
}

/* dx[winner] += dy: the gradient flows only to each window's maximum */
void nn_maxpool_backward(const float *dy, const int *argmax, float *dx,
                         int planes, int in_h, int in_w, int out_h, int out_w)
{
    for (int p = 0; p < planes; p++) {
        float *dplane = dx + (size_t)p * in_h * in_w;
        const float *dyp = dy + (size_t)p * out_h * out_w;
        const int *ap = argmax + (size_t)p * out_h * out_w;
        for (int i = 0; i < out_h * out_w; i++)
            dplane[ap[i]] += dyp[i];
    }
}

static nn_status maxpool_reshape(nn_layer *layer)
{
    int k = layer->args.kh, stride = layer->args.stride;
    if (k > layer->in_h || k > layer->in_w)
        return NN_ESHAPE;
    layer->out_c = layer->in_c;
    layer->out_h = (layer->in_h - k) / stride + 1;
    layer->out_w = (layer->in_w - k) / stride + 1;
    return NN_OK;
}

static void maxpool_sizes(const nn_layer *layer, int max_batch,
                          nn_layer_sizes *out)
{
    out->cache = sizeof(int) * (size_t)max_batch * layer->out_c *
                 layer->out_h * layer->out_w;
}

/* NN_PIECES groups of planes (n*c of them), one task each. */
typedef struct {
    const nn_layer *layer;
    const nn_tensor *in, *out;
    int backward;
} maxpool_job;

static void maxpool_task(void *p, int task, int thread)
{
    const maxpool_job *job = p;
    const nn_tensor *in = job->in, *out = job->out;
    size_t in_plane = (size_t)in->h * in->w, out_plane = (size_t)out->h * out->w;
    int *argmax = job->layer->cache;
    int first, last;
    (void)thread;
    nn_split(in->n * in->c, NN_PIECES, task, &first, &last);
    if (last == first)
        return;
    if (job->backward)
        nn_maxpool_backward(out->g + first * out_plane, argmax + first * out_plane,
                            in->g + first * in_plane, last - first, in->h,
                            in->w, out->h, out->w);
    else
        nn_maxpool_forward(in->x + first * in_plane, out->x + first * out_plane,
                           argmax + first * out_plane, last - first, in->h,
                           in->w, job->layer->args.kh, job->layer->args.stride,
                           out->h, out->w);
}

static void maxpool_forward(nn_layer *layer, const nn_tensor *in,
                            nn_tensor *out, const nn_exec *ex)
{
    maxpool_job job = {layer, in, out, 0};
    nn_pool_run(ex->pool, NN_PIECES, maxpool_task, &job);
}

static void maxpool_backward(nn_layer *layer, const nn_tensor *in,
                             const nn_tensor *out, const nn_exec *ex)
{
    maxpool_job job = {layer, in, out, 1};
    if (in->g)
        nn_pool_run(ex->pool, NN_PIECES, maxpool_task, &job);
}

/* poolK[sS], after "pool"; the stride defaults to the window */
static int maxpool_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return nn_spec_window(c, a, 0);
}

/* poolK, or poolKsS when the stride differs from the window */
static int maxpool_print(const nn_layer_args *a, char *buf, size_t size)
{
    return nn_spec_print_window(a, "pool", buf, size);
}

static nn_status maxpool_check(const nn_layer_args *a)
{
    return a->kh > 0 && a->stride > 0 && a->kh <= (1 << 20) &&
                   a->stride <= (1 << 20) && (a->kw == 0 || a->kw == a->kh)
               ? NN_OK : NN_EINVAL;
}

const nn_layer_kind nn_kind_maxpool = {
    .name = "maxpool",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "pool", .alias = "maxpool", .grammar = "poolK[sS]",
             .parse = maxpool_parse, .print = maxpool_print,
             .check = maxpool_check},
    .ops = {.reshape = maxpool_reshape, .sizes = maxpool_sizes,
            .forward = maxpool_forward, .backward = maxpool_backward},
};
