/* Max pooling: each output is the largest input in its kh x kw window.
 * Windows may overlap (stride < k); padding (below the window) is never a
 * maximum (PyTorch's MaxPool2d, -inf padding); in ceil mode the output size
 * rounds up, a window running past the input's end covering what is left
 * (PyTorch's ceil_mode). */
#include "layers/pool.h"

/* The largest of the inputs [h0, h1) x [w0, w1) of a plane of width
 * in_w (a window clipped to the input: the padding never wins); *where
 * gets its offset, the first in row-major order on ties. A NaN anywhere in
 * the window wins (the first one), as in PyTorch: a bad value is never
 * hidden. */
static float window_max(const float *plane, int in_w, int h0, int h1, int w0,
                        int w1, int *where)
{
    float best = plane[h0 * in_w + w0];
    int best_at = h0 * in_w + w0;
    for (int i = h0; i < h1; i++) {
        const float *row = plane + i * in_w;
        for (int j = w0; j < w1; j++)
            if (row[j] > best || (row[j] != row[j] && best == best)) {
                best = row[j];
                best_at = i * in_w + j;
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

/* The 2 x 2, stride 2 window with every window inside the input: the
 * fast path's case. */
static int is_plain_2x2(const nn_pool2d_shape *s)
{
    return s->kh == 2 && s->kw == 2 && s->stride == 2 && s->pad == 0 &&
           2 * s->out_h <= s->in_h && 2 * s->out_w <= s->in_w;
}

/* y[p, oy, ox] = max of x[p] over the window at (oy s - pad, ox s - pad),
 * positions outside the plane left out; argmax keeps where it was */
void nn_maxpool_forward(const nn_pool2d_shape *s, const float *x, float *y,
                        int *argmax, int planes)
{
    int in_h = s->in_h, in_w = s->in_w, out_h = s->out_h, out_w = s->out_w;
    for (int p = 0; p < planes; p++) {
        const float *plane = x + (size_t)p * in_h * in_w; /* (in_h, in_w) */
        float *yp = y + (size_t)p * out_h * out_w;        /* (out_h, out_w) */
        int *ap = argmax + (size_t)p * out_h * out_w;     /* (out_h, out_w) */
        if (is_plain_2x2(s)) {
            for (int oy = 0; oy < out_h; oy++) {
                int at = 2 * oy * in_w;
                if (max2x2_row(plane + at, plane + at + in_w, yp + oy * out_w,
                               ap + oy * out_w, at, in_w, out_w))
                    for (int ox = 0; ox < out_w; ox++)
                        yp[oy * out_w + ox] =
                            window_max(plane, in_w, 2 * oy, 2 * oy + 2, 2 * ox,
                                       2 * ox + 2, &ap[oy * out_w + ox]);
            }
            continue;
        }
        for (int oy = 0; oy < out_h; oy++) {
            int h0, h1, padded;
            nn_pool_span(oy, s->stride, s->pad, s->kh, in_h, &h0, &h1, &padded);
            for (int ox = 0; ox < out_w; ox++) {
                int w0, w1;
                nn_pool_span(ox, s->stride, s->pad, s->kw, in_w, &w0, &w1, &padded);
                yp[oy * out_w + ox] = window_max(plane, in_w, h0, h1, w0, w1,
                                                 &ap[oy * out_w + ox]);
            }
        }
    }
}

/* dx[winner] += dy: the gradient flows only to each window's maximum */
void nn_maxpool_backward(const nn_pool2d_shape *s, const float *dy,
                         const int *argmax, float *dx, int planes)
{
    size_t in_plane = (size_t)s->in_h * s->in_w;
    size_t out_plane = (size_t)s->out_h * s->out_w;
    for (int p = 0; p < planes; p++) {
        float *dplane = dx + p * in_plane;        /* (in_h, in_w) */
        const float *dyp = dy + p * out_plane;    /* (out_h, out_w) */
        const int *ap = argmax + p * out_plane;   /* (out_h, out_w) */
        for (size_t i = 0; i < out_plane; i++)
            dplane[ap[i]] += dyp[i];
    }
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
    nn_pool2d_shape shape;
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
        nn_maxpool_backward(&job->shape, out->g + first * out_plane,
                            argmax + first * out_plane,
                            in->g + first * in_plane, last - first);
    else
        nn_maxpool_forward(&job->shape, in->x + first * in_plane,
                           out->x + first * out_plane,
                           argmax + first * out_plane, last - first);
}

static void maxpool_run(nn_layer *layer, const nn_tensor *in,
                        const nn_tensor *out, const nn_exec *ex, int backward)
{
    maxpool_job job = {layer, in, out, {0}, backward};
    nn_pool2d_of(layer, &job.shape);
    nn_pool_run(ex->pool, NN_PIECES, maxpool_task, &job);
}

static void maxpool_forward(nn_layer *layer, const nn_tensor *in,
                            nn_tensor *out, const nn_exec *ex)
{
    maxpool_run(layer, in, out, ex, 0);
}

static void maxpool_backward(nn_layer *layer, const nn_tensor *in,
                             const nn_tensor *out, const nn_exec *ex)
{
    if (in->g)
        maxpool_run(layer, in, out, ex, 1);
}

/* poolK[xK][sS][pP][c], after "pool": the stride defaults to the window,
 * the padding (below the window) is never a maximum, c is ceil mode */
static int maxpool_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return nn_spec_window(c, a, 0);
}

/* poolK, then the stride unless it is the window, the padding unless 0, c
 * in ceil mode */
static int maxpool_print(const nn_layer_args *a, char *buf, size_t size)
{
    return nn_spec_print_window(a, "pool", buf, size);
}

static nn_status maxpool_check(const nn_layer_args *a)
{
    return a->exclude_pad == 0 ? nn_pool2d_check(a) : NN_EINVAL;
}

const nn_layer_kind nn_kind_maxpool = {
    .name = "maxpool",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "pool", .alias = "maxpool",
             .grammar = "poolK[sS][pP][c]", .parse = maxpool_parse,
             .print = maxpool_print, .check = maxpool_check},
    .ops = {.reshape = nn_pool2d_reshape, .sizes = maxpool_sizes,
            .forward = maxpool_forward, .backward = maxpool_backward},
};
