/* Average pooling: each output is the mean of its k x k window, zero
 * padding included (PyTorch's AvgPool2d with count_include_pad=True and
 * ceil_mode=False); and global average pooling, one mean per plane
 * (PyTorch's AdaptiveAvgPool2d(1)). */
#include "internal.h"

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
