/* Average pooling: each output is the mean of its k x k window, zero
 * padding included (PyTorch's AvgPool2d with count_include_pad=True and
 * ceil_mode=False); and global average pooling, one mean per plane
 * (PyTorch's AdaptiveAvgPool2d(1)). */
#include "layers/layer.h"

#include <stdio.h>

/* The rows (or columns) [*first, *last) of the input that the window of
 * output o covers: it starts at o*stride - pad and is k long, clipped to
 * [0, size); the clipped part is the zero padding. */
static void window_span(int o, int stride, int pad, int k, int size,
                        int *first, int *last)
{
    int start = o * stride - pad, end = start + k;
    *first = start > 0 ? start : 0;
    *last = end < size ? end : size;
}

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

/* y[p, oy, ox] = 1/k^2 sum_{i,j < k} x[p, oy s - pad + i, ox s - pad + j]
 * with s the stride, x outside the plane counting as 0;
 * out = (in + 2 pad - k) / s + 1 */
void nn_avgpool_forward(const float *x, float *y, int planes, int in_h,
                        int in_w, int k, int stride, int pad, int out_h,
                        int out_w)
{
    const float area = (float)(k * k);
    for (int p = 0; p < planes; p++) {
        const float *plane = x + (size_t)p * in_h * in_w; /* (in_h, in_w) */
        float *yp = y + (size_t)p * out_h * out_w;        /* (out_h, out_w) */
        if (k == 2 && stride == 2 && pad == 0) {
            for (int oy = 0; oy < out_h; oy++)
                avg2x2_row(plane + 2 * oy * in_w, plane + (2 * oy + 1) * in_w,
                           yp + oy * out_w, out_w);
            continue;
        }
        for (int oy = 0; oy < out_h; oy++) {
            int h0, h1;
            window_span(oy, stride, pad, k, in_h, &h0, &h1);
            for (int ox = 0; ox < out_w; ox++) {
                float sum = 0.0f;
                int w0, w1;
                window_span(ox, stride, pad, k, in_w, &w0, &w1);
                for (int ih = h0; ih < h1; ih++)
                    for (int iw = w0; iw < w1; iw++)
                        sum += plane[ih * in_w + iw];
                yp[oy * out_w + ox] = sum / area;
            }
        }
    }
}

/* dx[p, ih, iw] += dy[p, oy, ox] / k^2 for every window (oy, ox) that
 * holds (ih, iw) */
void nn_avgpool_backward(const float *dy, float *dx, int planes, int in_h,
                         int in_w, int k, int stride, int pad, int out_h,
                         int out_w)
{
    const float area = (float)(k * k);
    for (int p = 0; p < planes; p++) {
        float *dplane = dx + (size_t)p * in_h * in_w;      /* (in_h, in_w) */
        const float *dyp = dy + (size_t)p * out_h * out_w; /* (out_h, out_w) */
        if (k == 2 && stride == 2 && pad == 0) {
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
            int h0, h1;
            window_span(oy, stride, pad, k, in_h, &h0, &h1);
            for (int ox = 0; ox < out_w; ox++) {
                float share = dyp[oy * out_w + ox] / area;
                int w0, w1;
                window_span(ox, stride, pad, k, in_w, &w0, &w1);
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
    const nn_layer *layer;
    const nn_tensor *in, *out;
    int global, backward;
} avgpool_job;

static void avgpool_task(void *p, int task, int thread)
{
    const avgpool_job *job = p;
    const nn_tensor *in = job->in, *out = job->out;
    const nn_layer_args *a = &job->layer->args;
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
        nn_avgpool_backward(out->g + first * out_plane,
                            in->g + first * in_plane, planes, in->h, in->w,
                            a->kh, a->stride, a->pad, out->h, out->w);
    else
        nn_avgpool_forward(in->x + first * in_plane, out->x + first * out_plane,
                           planes, in->h, in->w, a->kh, a->stride, a->pad,
                           out->h, out->w);
}

static void avgpool_forward(nn_layer *layer, const nn_tensor *in,
                            nn_tensor *out, const nn_exec *ex)
{
    avgpool_job job = {layer, in, out, layer->kind->impl != NULL, 0};
    nn_pool_run(ex->pool, NN_PIECES, avgpool_task, &job);
}

static void avgpool_backward(nn_layer *layer, const nn_tensor *in,
                             const nn_tensor *out, const nn_exec *ex)
{
    avgpool_job job = {layer, in, out, layer->kind->impl != NULL, 1};
    if (in->g)
        nn_pool_run(ex->pool, NN_PIECES, avgpool_task, &job);
}

/* out = (in + 2 pad - k) / stride + 1; like PyTorch, the padding is at most
 * half the window, so that every window holds an input value */
static nn_status avgpool_reshape(nn_layer *layer)
{
    const nn_layer_args *a = &layer->args;
    if (a->pad > a->kh / 2 || a->kh > layer->in_h + 2 * a->pad ||
        a->kh > layer->in_w + 2 * a->pad)
        return NN_ESHAPE;
    layer->out_c = layer->in_c;
    layer->out_h = (layer->in_h + 2 * a->pad - a->kh) / a->stride + 1;
    layer->out_w = (layer->in_w + 2 * a->pad - a->kh) / a->stride + 1;
    return NN_OK;
}

/* avgpoolK[sS][pP], after "avgpool"; the stride defaults to the window */
static int avgpool_parse(nn_spec_cursor *c, nn_layer_args *a)
{
    return nn_spec_window(c, a, 1);
}

/* avgpoolK, then sS when the stride differs from the window, pP if padded */
static int avgpool_print(const nn_layer_args *a, char *buf, size_t size)
{
    return nn_spec_print_window(a, "avgpool", buf, size);
}

static nn_status avgpool_check(const nn_layer_args *a)
{
    return a->kh > 0 && a->kh <= NN_SPEC_MAX_SIDE && a->stride > 0 &&
                   a->stride <= NN_SPEC_MAX_SIDE && a->pad >= 0 &&
                   (a->kw == 0 || a->kw == a->kh)
               ? NN_OK : NN_EINVAL;
}

const nn_layer_kind nn_kind_avgpool = {
    .name = "avgpool",
    .object_size = sizeof(nn_layer),
    .spec = {.token = "avgpool", .grammar = "avgpoolK[sS][pP]",
             .parse = avgpool_parse, .print = avgpool_print,
             .check = avgpool_check},
    .ops = {.reshape = avgpool_reshape, .forward = avgpool_forward,
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
