/* The portable integer kernels of int8 models (src/quant/qkernels.h). */
#include "quant/qkernels.h"

#include <math.h>
#include <string.h>

#include "core/util.h"
#include "layers/pool.h"
#include "quant/qmath.h"

void nn_q_gemm_u8s8_ref(int rows, int out, int depth, const uint8_t *a,
                        const int8_t *w, const int32_t *bias, int32_t *acc)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const uint8_t *ar = a + (size_t)r * depth;
            const int8_t *wo = w + (size_t)o * depth;
            int32_t sum = bias[o];
            for (int k = 0; k < depth; k++)
                sum += (int32_t)ar[k] * wo[k];
            acc[(size_t)r * out + o] = sum;
        }
}

void nn_q_gemm_s16_portable(int rows, int out, int depth16, const int16_t *a,
                            const int16_t *w, const int32_t *bias,
                            int32_t *acc)
{
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < out; o++) {
            const int16_t *ar = a + (size_t)r * depth16;
            const int16_t *wo = w + (size_t)o * depth16;
            int32_t sum = bias[o];
            for (int k = 0; k < depth16; k++)
                sum += (int32_t)ar[k] * wo[k];
            acc[(size_t)r * out + o] = sum;
        }
}

nn_q_gemm_fn nn_q_gemm_pick(int allow_avx2)
{
#if defined(__x86_64__)
    if (allow_avx2 && nn_cpu_has_avx2())
        return nn_q_gemm_s16_avx2;
#else
    (void)allow_avx2;
#endif
    return nn_q_gemm_s16_portable;
}

void nn_q_pack_weights(int out, int depth, const int8_t *w, int16_t *w16)
{
    int depth16 = nn_q_depth16(depth);
    for (int o = 0; o < out; o++) {
        int16_t *row = w16 + (size_t)o * depth16;
        for (int k = 0; k < depth; k++)
            row[k] = w[(size_t)o * depth + k];
        for (int k = depth; k < depth16; k++)
            row[k] = 0;
    }
}

void nn_q_widen_rows(int rows, int depth, const uint8_t *a, int16_t *a16)
{
    int depth16 = nn_q_depth16(depth);
    for (int r = 0; r < rows; r++) {
        int16_t *row = a16 + (size_t)r * depth16;
        for (int k = 0; k < depth; k++)
            row[k] = a[(size_t)r * depth + k];
        for (int k = depth; k < depth16; k++)
            row[k] = 0;
    }
}

void nn_q_im2col_s16(const uint8_t *x, int c, int h, int w, int kh, int kw,
                     int stride, int pad, int out_h, int out_w, uint8_t zero,
                     int16_t *col)
{
    int depth = c * kh * kw, depth16 = nn_q_depth16(depth);
    for (int oy = 0; oy < out_h; oy++)
        for (int ox = 0; ox < out_w; ox++) {
            int16_t *row = col + ((size_t)oy * out_w + ox) * depth16;
            int y0 = oy * stride - pad, x0 = ox * stride - pad, k = 0;
            for (int ci = 0; ci < c; ci++) {
                const uint8_t *plane = x + (size_t)ci * h * w;
                for (int ky = 0; ky < kh; ky++) {
                    int iy = y0 + ky;
                    if (iy < 0 || iy >= h) {
                        for (int kx = 0; kx < kw; kx++)
                            row[k++] = zero;
                        continue;
                    }
                    for (int kx = 0; kx < kw; kx++) {
                        int ix = x0 + kx;
                        row[k++] = ix < 0 || ix >= w
                                       ? zero : plane[(size_t)iy * w + ix];
                    }
                }
            }
            for (; k < depth16; k++)
                row[k] = 0;
        }
}

void nn_q_quantize(const float *x, size_t n, float scale, int32_t zero,
                   uint8_t *q)
{
    for (size_t i = 0; i < n; i++) {
        float v = roundf(x[i] / scale);
        int32_t t;
        if (v != v)
            t = zero;
        else if (v >= 512.0f)
            t = 255;
        else if (v <= -512.0f)
            t = 0;
        else
            t = nn_q_clamp(zero + (int32_t)v, 0, 255);
        q[i] = (uint8_t)t;
    }
}

void nn_q_requant_transpose(int rows, int out, const int32_t *acc,
                            const nn_qmul *m, int32_t zero, int32_t lo,
                            int32_t hi, uint8_t *y)
{
    for (int o = 0; o < out; o++) {
        nn_qmul mo = m[o];
        uint8_t *yo = y + (size_t)o * rows;
        for (int r = 0; r < rows; r++)
            yo[r] = (uint8_t)nn_q_clamp(
                zero + nn_q_requant(acc[(size_t)r * out + o], mo), lo, hi);
    }
}

void nn_q_requant_rows(int rows, int out, const int32_t *acc,
                       const nn_qmul *m, int32_t zero, int32_t lo, int32_t hi,
                       uint8_t *y)
{
    for (size_t i = 0; i < (size_t)rows * out; i++)
        y[i] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc[i], m[i % out]),
                                   lo, hi);
}

void nn_q_affine(const uint8_t *x, int channels, size_t hw, const int8_t *w,
                 const int32_t *bias_folded, const nn_qmul *m, int32_t zero,
                 int32_t lo, int32_t hi, uint8_t *y)
{
    for (int c = 0; c < channels; c++)
        for (size_t i = 0; i < hw; i++) {
            size_t at = (size_t)c * hw + i;
            int32_t acc = bias_folded[c] + (int32_t)x[at] * w[c];
            y[at] = (uint8_t)nn_q_clamp(zero + nn_q_requant(acc, m[c]), lo, hi);
        }
}

void nn_q_maxpool(const nn_pool2d_shape *s, const uint8_t *x, uint8_t *y,
                  int planes)
{
    for (int p = 0; p < planes; p++) {
        const uint8_t *plane = x + (size_t)p * s->in_h * s->in_w;
        uint8_t *yp = y + (size_t)p * s->out_h * s->out_w;
        for (int oy = 0; oy < s->out_h; oy++) {
            int h0, h1, padded;
            nn_pool_span(oy, s->stride, s->pad, s->kh, s->in_h, &h0, &h1,
                         &padded);
            for (int ox = 0; ox < s->out_w; ox++) {
                int w0, w1;
                uint8_t best = 0;
                nn_pool_span(ox, s->stride, s->pad, s->kw, s->in_w, &w0, &w1,
                             &padded);
                for (int iy = h0; iy < h1; iy++)
                    for (int ix = w0; ix < w1; ix++) {
                        uint8_t v = plane[(size_t)iy * s->in_w + ix];
                        best = v > best ? v : best;
                    }
                yp[(size_t)oy * s->out_w + ox] = best;
            }
        }
    }
}

void nn_q_avgpool(const nn_pool2d_shape *s, const uint8_t *x, int32_t zero,
                  uint8_t *y, int planes)
{
    for (int p = 0; p < planes; p++) {
        const uint8_t *plane = x + (size_t)p * s->in_h * s->in_w;
        uint8_t *yp = y + (size_t)p * s->out_h * s->out_w;
        for (int oy = 0; oy < s->out_h; oy++) {
            int h0, h1, padded_h;
            nn_pool_span(oy, s->stride, s->pad, s->kh, s->in_h, &h0, &h1,
                         &padded_h);
            for (int ox = 0; ox < s->out_w; ox++) {
                int w0, w1, padded_w;
                int32_t sum = 0, n;
                nn_pool_span(ox, s->stride, s->pad, s->kw, s->in_w, &w0, &w1,
                             &padded_w);
                n = s->exclude_pad ? (h1 - h0) * (w1 - w0)
                                   : padded_h * padded_w;
                for (int iy = h0; iy < h1; iy++)
                    for (int ix = w0; ix < w1; ix++)
                        sum += (int32_t)plane[(size_t)iy * s->in_w + ix] - zero;
                yp[(size_t)oy * s->out_w + ox] = (uint8_t)nn_q_clamp(
                    zero + (n > 0 ? nn_q_div_round(sum, n) : 0), 0, 255);
            }
        }
    }
}

void nn_q_global_avgpool(const uint8_t *x, int32_t zero, size_t hw,
                         uint8_t *y, int planes)
{
    for (int p = 0; p < planes; p++) {
        int32_t sum = 0;
        for (size_t i = 0; i < hw; i++)
            sum += (int32_t)x[(size_t)p * hw + i] - zero;
        y[p] = (uint8_t)nn_q_clamp(zero + nn_q_div_round(sum, (int32_t)hw), 0,
                                   255);
    }
}

void nn_q_global_avgpool_requant(const uint8_t *x, int32_t zero_in, size_t hw,
                                 nn_qmul m, int32_t zero_out, uint8_t *y,
                                 int planes)
{
    for (int p = 0; p < planes; p++) {
        int32_t sum = 0;
        for (size_t i = 0; i < hw; i++)
            sum += (int32_t)x[(size_t)p * hw + i] - zero_in;
        y[p] = (uint8_t)nn_q_clamp(zero_out + nn_q_requant(sum, m), 0, 255);
    }
}

void nn_q_add(const uint8_t *const *x, int count, size_t n,
              const int32_t *zero_in, const nn_qjoin *j, int32_t zero_out,
              uint8_t *y)
{
    for (size_t i = 0; i < n; i++) {
        int32_t sum = 0;
        for (int t = 0; t < count; t++)
            sum += nn_q_requant(((int32_t)x[t][i] - zero_in[t])
                                    * (1 << NN_QADD_LEFT_SHIFT),
                                j->in[t]);
        y[i] = (uint8_t)nn_q_clamp(zero_out + nn_q_requant(sum, j->out), j->lo,
                                   j->hi);
    }
}

void nn_q_rescale(const uint8_t *x, size_t n, int32_t zero_in, nn_qmul m,
                  int same, int32_t zero_out, uint8_t *y)
{
    if (same) {
        memcpy(y, x, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)nn_q_clamp(
            zero_out + nn_q_requant((int32_t)x[i] - zero_in, m), 0, 255);
}

void nn_q_lut(const uint8_t *x, size_t n, const uint8_t lut[256], uint8_t *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = lut[x[i]];
}
