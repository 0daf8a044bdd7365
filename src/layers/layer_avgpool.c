/* Average pooling: each output is the mean of its kh x kw window, the
 * zero padding counted (PyTorch's AvgPool2d with count_include_pad=True)
 * or, with exclude_pad, left out (count_include_pad=False); in ceil mode
 * the output size rounds up (ceil_mode=True). And global average pooling,
 * one mean per plane (PyTorch's AdaptiveAvgPool2d(1)). */
#include "layers/pool.h"

/* One output row of the 2 x 2, stride 2, unpadded window (the common one)
 * from input rows r0 and r1: y[ox] = (r0[2ox] + r0[2ox+1] + r1[2ox] +
 * r1[2ox+1]) / 4, summed from 0 in the general path's order, so the result
 * is the same to the bit; without branches, so the loop vectorises. */
static void avg2x2_row(const float *restrict r0, const float *restrict r1,
                       float *restrict y, int out_w)
{
    for (int ox = 0; ox < out_w; ox++) {
        float sum = 0.0f;
        sum += r0[2 * ox];
        sum += r0[2 * ox + 1];
        sum += r1[2 * ox];
        sum += r1[2 * ox + 1];
        y[ox] = sum / 4.0f;
    }
}

/* The 2 x 2, stride 2, unpadded window with every window inside the
 * input: the fast path's case. */
static int is_plain_2x2(const nn_pool2d_shape *s)
{
    return s->kh == 2 && s->kw == 2 && s->stride == 2 && s->pad == 0 &&
           2 * s->out_h <= s->in_h && 2 * s->out_w <= s->in_w;
}

/* The divisor of a window covering rows [h0, h1) and columns [w0, w1) of
 * the input, and padded_h x padded_w positions of the padded input. */
static float divisor(const nn_pool2d_shape *s, int h0, int h1, int padded_h,
                     int w0, int w1, int padded_w)
{
    return s->exclude_pad ? (float)((h1 - h0) * (w1 - w0))
                          : (float)(padded_h * padded_w);
}

/* y[p, oy, ox] = sum of x[p] over the window at (oy s - pad, ox s - pad),
 * summed from 0 in row-major order, divided by the window's divisor
 * (nn_avgpool_forward in nn/layers.h) */
void nn_avgpool_forward(const nn_pool2d_shape *s, const float *x, float *y,
                        int planes)
{
    int in_h = s->in_h, in_w = s->in_w, out_h = s->out_h, out_w = s->out_w;
    for (int p = 0; p < planes; p++) {
        const float *plane = x + (size_t)p * in_h * in_w; /* (in_h, in_w) */
        float *yp = y + (size_t)p * out_h * out_w;        /* (out_h, out_w) */
        if (is_plain_2x2(s)) {
            for (int oy = 0; oy < out_h; oy++)
                avg2x2_row(plane + 2 * oy * in_w, plane + (2 * oy + 1) * in_w,
                           yp + oy * out_w, out_w);
            continue;
        }
        for (int oy = 0; oy < out_h; oy++) {
            int h0, h1, padded_h;
            nn_pool_span(oy, s->stride, s->pad, s->kh, in_h, &h0, &h1, &padded_h);
            for (int ox = 0; ox < out_w; ox++) {
                float sum = 0.0f;
                int w0, w1, padded_w;
                nn_pool_span(ox, s->stride, s->pad, s->kw, in_w, &w0, &w1,
                             &padded_w);
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        sum += plane[ih * in_w + iw];
                yp[oy * out_w + ox] =
                    sum / divisor(s, h0, h1, padded_h, w0, w1, padded_w);
            }
        }
    }
}

/* dx[p, ih, iw] += dy[p, oy, ox] / divisor for every window (oy, ox) that
 * holds (ih, iw) */
void nn_avgpool_backward(const nn_pool2d_shape *s, const float *dy, float *dx,
                         int planes)
{
    int in_h = s->in_h, in_w = s->in_w, out_h = s->out_h, out_w = s->out_w;
    for (int p = 0; p < planes; p++) {
        float *dplane = dx + (size_t)p * in_h * in_w;      /* (in_h, in_w) */
        const float *dyp = dy + (size_t)p * out_h * out_w; /* (out_h, out_w) */
        if (is_plain_2x2(s)) {
            /* The windows do not overlap: each input gets one share. */
            for (int oy = 0; oy < out_h; oy++) {
                float *restrict d0 = dplane + 2 * oy * in_w;
                float *restrict d1 = d0 + in_w;
                const float *restrict g = dyp + oy * out_w;
                for (int ox = 0; ox < out_w; ox++) {
                    float share = g[ox] / 4.0f;
                    d0[2 * ox] += share;
                    d0[2 * ox + 1] += share;
                    d1[2 * ox] += share;
                    d1[2 * ox + 1] += share;
                }
            }
            continue;
        }
        for (int oy = 0; oy < out_h; oy++) {
            int h0, h1, padded_h;
            nn_pool_span(oy, s->stride, s->pad, s->kh, in_h, &h0, &h1, &padded_h);
            for (int ox = 0; ox < out_w; ox++) {
                int w0, w1, padded_w;
                float share;
                nn_pool_span(ox, s->stride, s->pad, s->kw, in_w, &w0, &w1,
                             &padded_w);
                share = dyp[oy * out_w + ox] /
                        divisor(s, h0, h1, padded_h, w0, w1, padded_w);
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        dplane[ih * in_w + iw] += share;
            }
        }
    }
}

/* y[p] = 1/hw sum_i x[p, i], summed in double */
void nn_global_avgpool_forward(const float *x, float *y, int planes, int hw)
{
    for (int p = 0; p < planes; p++) {
        const float *plane = x + (size_t)p * hw; /* (hw) */
        double sum = 0.0;
        for (int i = 0; i < hw; i++)
            sum += plane[i];
        y[p] = (float)(sum / hw);
    }
}

/* dx[p, i] += dy[p] / hw */
void nn_global_avgpool_backward(const float *dy, float *dx, int planes, int hw)
{
    for (int p = 0; p < planes; p++) {
        float *dplane = dx + (size_t)p * hw; /* (hw) */
        float share = dy[p] / (float)hw;
        for (int i = 0; i < hw; i++)
            dplane[i] += share;
    }
}

/* The adapter of both kinds: NN_PIECES groups of planes (n*c of them), one
 * task each; the global kind is the window of the whole plane. */
typedef struct {
    const nn_tensor *in, *out;
    nn_pool2d_shape shape; /* of the windowed kind */
    int global, backward;
} avgpool_job;

static void avgpool_task(void *p, int task, int thread)
{
    const avgpool_job *job = p;
    const nn_tensor *in = job->in, *out = job->out;
    size_t in_plane = (size_t)in->h * in->w, out_plane = (size_t)out->h * out->w;
    int first, last, planes;
    (void)thread;
    nn_split(in->n * in->c, NN_PIECES, task, &first, &last);
    planes = last - first;
    if (planes == 0)
        return;
    if (job->global && job->backward)
        nn_global_avgpool_backward(out->g + first, in->g + first * in_plane,
                                   planes, in->h * in->w);
    else if (job->global)
        nn_global_avgpool_forward(in->x + first * in_plane, out->x + first,
                                  planes, in->h * in->w);
    else if (job->backward)
        nn_avgpool_backward(&job->shape, out->g + first * out_plane,
                            in->g + first * in_plane, planes);
    else
        nn_avgpool_forward(&job->shape, in->x + first * in_plane,
                           out->x + first * out_plane, planes);
}

static void avgpool_run(const nn_layer *layer, const nn_tensor *in,
                        const nn_tensor *out, const nn_exec *ex, int backward)
{
    avgpool_job job = {in, out, {0}, layer->kind->impl != NULL, backward};
    if (!job.global)
        nn_pool2d_of(layer, &job.shape);
    nn_pool_run(ex->pool, NN_PIECES, avgpool_task, &job);
}

static void avgpool_forward(nn_layer *layer, const nn_tensor *in,
                            nn_tensor *out, const nn_exec *ex)
{
    avgpool_run(layer, in, out, ex, 0);
}

static void avgpool_backward(nn_layer *layer, const nn_tensor *in,
                             const nn_tensor *out, const nn_exec *ex)
{
    if (in->g)
        avgpool_run(layer, in, out, ex, 1);
}

/* avgpoolK[xK][sS][pP][c][e], after "avgpool": the stride defaults to the
 * window, the padding is below it, c is ceil mode, e leaves the padding
 * out of the mean */
static int avgpool_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return nn_spec_window(c, a, 1);
}

/* avgpoolK, then the stride unless it is the window, the padding unless 0,
 * c in ceil mode, e when the padding is left out */
static int avgpool_print(const nn_layer_args *a, char *buf, size_t size)
{
    return nn_spec_print_window(a, "avgpool", buf, size);
}

const nn_layer_kind nn_kind_avgpool = {
    .name = "avgpool",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "avgpool", .grammar = "avgpoolK[sS][pP][c][e]",
             .parse = avgpool_parse, .print = avgpool_print,
             .check = nn_pool2d_check},
    .ops = {.reshape = nn_pool2d_reshape, .forward = avgpool_forward,
            .backward = avgpool_backward},
};

/* one value per channel: (c, 1, 1) */
static nn_status global_avgpool_reshape(nn_layer *layer)
{
    layer->out_c = layer->in_c;
    layer->out_h = layer->out_w = 1;
    return NN_OK;
}

static const int global_window = 1; /* impl: marks the global kind */

const nn_layer_kind nn_kind_global_avgpool = {
    .name = "globalavgpool",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "gap", .alias = "globalavgpool", .grammar = "gap"},
    .ops = {.reshape = global_avgpool_reshape, .forward = avgpool_forward,
            .backward = avgpool_backward},
    .impl = &global_window,
};
